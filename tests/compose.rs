//! A stack faultline did not create: the compose-shop example
//! (`examples/compose-shop/`), brought up by the real Compose tool — never
//! by faultline's topology code — found by `faultline init`, and read by
//! its stack file's write check.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use faultline::cli::{dispatch, Cli};
use faultline::stack_file::{StackFile, Zones};
use support::{engine_with_images, eventually, http, StackLock};

/// A Compose project started with `docker-compose up -d --build`, taken
/// down with its volumes however the test ends.
struct ComposeProject {
    file: PathBuf,
    project: String,
}

impl ComposeProject {
    fn up(file: &Path, project: &str) -> ComposeProject {
        let p = ComposeProject {
            file: file.to_path_buf(),
            project: project.to_string(),
        };
        // Anything an earlier, killed run left under this name goes first.
        p.compose(&["down", "-v", "--remove-orphans"]);
        let out = p.compose(&["up", "-d", "--build"]);
        assert!(
            out.status.success(),
            "docker-compose up failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        p
    }

    fn compose(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker-compose")
            .arg("-f")
            .arg(&self.file)
            .arg("-p")
            .arg(&self.project)
            .args(args)
            .output()
            .expect("the Compose tool (docker-compose) runs")
    }

    /// `psql` in one of its services, returning the unaligned output.
    fn psql(&self, service: &str, sql: &str) -> String {
        let out = self.compose(&[
            "exec", "-T", service, "psql", "-U", "shop", "-d", "shop", "-Atc", sql,
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        self.compose(&["down", "-v", "--remove-orphans"]);
    }
}

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/compose-shop")
        .join(file)
}

/// Creates an order through the shop's balancer; the shop acknowledges it
/// with 201.
async fn post_order(client: &reqwest::Client, entry: &str, id: &str, item: &str) {
    let r = client
        .post(format!("{entry}/orders"))
        .json(&serde_json::json!({"id": id, "item": item}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_compose_shop_serves_and_init_describes_it() {
    let _lock = tokio::task::spawn_blocking(StackLock::acquire)
        .await
        .unwrap()
        .unwrap();
    // The example's images start FROM faultline/base:latest.
    engine_with_images().await;
    let shop = ComposeProject::up(&example("docker-compose.yml"), "faultline-test-shop");
    let client = http();
    let entry = "http://127.0.0.1:18080";
    eventually(
        Duration::from_secs(90),
        "the shop answers through its balancer",
        || async {
            let r = client.get(format!("{entry}/health")).send().await.ok()?;
            r.status().is_success().then_some(())
        },
    )
    .await;

    let id = format!("t-{}", uuid::Uuid::new_v4());
    post_order(&client, entry, &id, "book").await;
    let got: serde_json::Value = client
        .get(format!("{entry}/orders/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["item"], "book");
    assert_eq!(
        shop.psql(
            "db-primary",
            &format!("SELECT item FROM orders WHERE id = '{id}'")
        ),
        "book"
    );
    // The standby streams from the primary, and has the order.
    eventually(
        Duration::from_secs(30),
        "the standby replays the order",
        || async {
            (shop.psql(
                "db-standby",
                &format!("SELECT count(*) FROM orders WHERE id = '{id}'"),
            ) == "1")
                .then_some(())
        },
    )
    .await;

    // The example's write check finds exactly the orders deleted behind the
    // app's back: through psql in its database containers (the primary
    // found by pg_is_in_recovery()), and over a connection string naming
    // both servers.
    let mut ids = vec![id.clone()];
    for n in 0..20 {
        let id = format!("t-{n}-{}", uuid::Uuid::new_v4());
        post_order(&client, entry, &id, "pen").await;
        ids.push(id);
    }
    let deleted = [ids[3].clone(), ids[17].clone()];
    shop.psql(
        "db-primary",
        &format!(
            "DELETE FROM orders WHERE id IN ('{}', '{}')",
            deleted[0], deleted[1]
        ),
    );
    let engine = faultline::platform::docker::Engine::connect(false)
        .await
        .unwrap();
    let file = StackFile::load_file(&example("stack.toml")).unwrap();
    let check = file.write_check.clone().unwrap();
    let present = faultline::userstack::present(&engine, "faultline-test-shop", &check, &ids)
        .await
        .unwrap();
    let missing: Vec<&String> = ids.iter().filter(|i| !present.contains(*i)).collect();
    assert_eq!(
        missing,
        deleted.iter().collect::<Vec<_>>(),
        "psql in the containers"
    );

    let network = "faultline-test-shop_default";
    let mut hosts = Vec::new();
    for service in ["db-standby", "db-primary"] {
        let name = faultline::platform::docker::compose::service_containers(
            &engine,
            "faultline-test-shop",
            service,
        )
        .await
        .unwrap()
        .remove(0);
        hosts.push(engine.ip_address(&name, network).await.unwrap());
    }
    let over_dsn = faultline::stack_file::WriteCheck {
        database: faultline::stack_file::Database::Dsn(format!(
            "host={} user=shop password=shop dbname=shop",
            hosts.join(",")
        )),
        ..check
    };
    let present = faultline::userstack::present(&engine, "faultline-test-shop", &over_dsn, &ids)
        .await
        .unwrap();
    assert_eq!(
        present.len(),
        ids.len() - 2,
        "a connection string, the standby listed first"
    );
    assert!(deleted.iter().all(|d| !present.contains(d)));

    // `faultline init` reads the running project into a valid stack file.
    let out = std::env::temp_dir().join(format!("faultline-init-{}.toml", std::process::id()));
    let cli = Cli::try_parse_from([
        "faultline",
        "init",
        "--compose",
        "faultline-test-shop",
        "--force",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    dispatch(cli).await.unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let stack = StackFile::parse(&faultline::source::Source {
        path: out.clone(),
        text: text.clone(),
    })
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(stack.entry, entry, "the balancer is the entry:\n{text}");
    assert_eq!(stack.zones, Zones::Label("shop.zone".into()));
    for service in [
        "lb",
        "app-a",
        "app-b",
        "app-c",
        "db-primary",
        "db-standby",
        "cache",
    ] {
        assert!(
            text.contains(&format!("#   {service} ")),
            "{service} is listed:\n{text}"
        );
    }
    assert!(
        text.contains(r#"# services = ["db-primary", "db-standby"]"#),
        "{text}"
    );

    // A project that is not running is a usage error naming the running ones.
    let cli = Cli::try_parse_from([
        "faultline",
        "init",
        "--compose",
        "no-such-shop",
        "--out",
        "-",
    ])
    .unwrap();
    let e = dispatch(cli).await.unwrap_err();
    assert_eq!(e.exit(), faultline::Exit::BadInput);
    assert!(e.to_string().contains("faultline-test-shop"), "{e}");
}

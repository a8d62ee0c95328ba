//! Network cuts inside containers: iptables rules in a container's network
//! namespace, entered from the host with `nsenter` (the containers need no
//! capabilities and no iptables of their own). Each fault gets its own
//! chain, so faults overlap without disturbing each other and a revert
//! removes exactly its own rules. Packets are dropped, not refused: peers
//! see silence and time out, as across a real partition.
//!
//! A container restarted while cut off comes back with a fresh namespace
//! and no rules; healing it is then a no-op.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::Engine;
use crate::platform::{Cut, Cutting, Flow, PlatformError};

/// The chain of fault `id` (iptables chain names are short).
pub fn chain_name(id: usize) -> String {
    format!("FL-{id}")
}

/// The iptables-restore input of a chain of its own holding `cut`'s drops,
/// with `resolvers` the node's name servers (for [`Cutting::Resolvers`]).
pub fn cut_rules(chain: &str, cut: &Cut, resolvers: &[String]) -> String {
    let mut s =
        format!("*filter\n:{chain} - [0:0]\n-I INPUT 1 -j {chain}\n-I OUTPUT 1 -j {chain}\n");
    // A share below 1 drops each matching packet at random (the kernel's
    // `statistic` match; netem is not needed).
    let drop = if cut.share >= 1.0 {
        "-j DROP".to_string()
    } else {
        format!(
            "-m statistic --mode random --probability {:.4} -j DROP",
            cut.share.max(0.0)
        )
    };
    match &cut.what {
        Cutting::Peers { peers, flow } => {
            for ip in peers {
                if matches!(flow, Flow::Both | Flow::In) {
                    s.push_str(&format!("-A {chain} -s {ip}/32 {drop}\n"));
                }
                if matches!(flow, Flow::Both | Flow::Out) {
                    s.push_str(&format!("-A {chain} -d {ip}/32 {drop}\n"));
                }
            }
        }
        // Every packet to a resolver's address: Docker's embedded resolver
        // (127.0.0.11) is reached through a port rewrite that happens
        // before this table sees the packet, so the port cannot be matched;
        // the address serves only name lookups anyway.
        Cutting::Resolvers => {
            for ip in resolvers {
                s.push_str(&format!("-A {chain} -d {ip}/32 {drop}\n"));
            }
        }
    }
    s.push_str("COMMIT\n");
    s
}

/// The IPv4 name servers of a `resolv.conf`.
pub fn name_servers(resolv_conf: &str) -> Vec<String> {
    resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(str::trim)
        .filter(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())
        .map(String::from)
        .collect()
}

/// The iptables-restore input that removes `chain`.
pub fn heal_rules(chain: &str) -> String {
    format!("*filter\n-D INPUT -j {chain}\n-D OUTPUT -j {chain}\n-F {chain}\n-X {chain}\nCOMMIT\n")
}

async fn restore(engine: &Engine, container: &str, rules: &str) -> Result<(), PlatformError> {
    let fail = |reason: String| PlatformError::Failed {
        operation: "applying firewall rules in",
        target: container.to_string(),
        reason,
    };
    let pid = engine.pid(container).await?;
    let mut child = tokio::process::Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "iptables-restore", "--noflush", "-w", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("nsenter could not run ({e}); cutting networks needs root, nsenter and iptables on the host")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(rules.as_bytes())
            .await
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(fail(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// Drops what `cut` says inside `container`.
pub async fn cut(engine: &Engine, container: &str, cut: &Cut) -> Result<(), PlatformError> {
    let resolvers = match cut.what {
        Cutting::Resolvers => {
            // The container's own resolv.conf, read through its root from
            // the host.
            let pid = engine.pid(container).await?;
            let conf = tokio::fs::read_to_string(format!("/proc/{pid}/root/etc/resolv.conf"))
                .await
                .map_err(|e| PlatformError::Failed {
                    operation: "reading the resolvers of",
                    target: container.to_string(),
                    reason: e.to_string(),
                })?;
            let servers = name_servers(&conf);
            if servers.is_empty() {
                return Err(PlatformError::Failed {
                    operation: "reading the resolvers of",
                    target: container.to_string(),
                    reason: "its resolv.conf names no IPv4 name server".into(),
                });
            }
            servers
        }
        Cutting::Peers { .. } => Vec::new(),
    };
    restore(
        engine,
        container,
        &cut_rules(&chain_name(cut.fault), cut, &resolvers),
    )
    .await
}

/// Removes fault `fault`'s chain; a container that is gone, stopped or
/// restarted (and so has no such chain) is already healed.
pub async fn heal(engine: &Engine, container: &str, fault: usize) -> Result<(), PlatformError> {
    match restore(engine, container, &heal_rules(&chain_name(fault))).await {
        Ok(()) => Ok(()),
        Err(PlatformError::NotFound { .. } | PlatformError::NotRunning { .. }) => Ok(()),
        Err(PlatformError::Failed { reason, .. })
            if reason.contains("No chain")
                || reason.contains("does not exist")
                || reason.contains("Bad rule") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_use_a_chain_of_their_own() {
        let r = cut_rules("FL-3", &Cut::peers(3, vec!["172.18.0.5".into()]), &[]);
        assert!(r.starts_with("*filter\n:FL-3 - [0:0]\n"));
        assert!(r.contains("-I INPUT 1 -j FL-3\n-I OUTPUT 1 -j FL-3\n"));
        assert!(r.contains("-A FL-3 -s 172.18.0.5/32 -j DROP\n-A FL-3 -d 172.18.0.5/32 -j DROP\n"));
        assert!(r.ends_with("COMMIT\n"));
        let h = heal_rules("FL-3");
        assert!(h.contains("-D INPUT -j FL-3") && h.contains("-X FL-3"));
    }

    #[test]
    fn a_share_drops_at_random_and_a_flow_one_way() {
        let cut = Cut {
            fault: 4,
            what: Cutting::Peers {
                peers: vec!["10.0.0.2".into()],
                flow: Flow::Out,
            },
            share: 0.3,
        };
        let r = cut_rules("FL-4", &cut, &[]);
        assert!(r.contains(
            "-A FL-4 -d 10.0.0.2/32 -m statistic --mode random --probability 0.3000 -j DROP\n"
        ));
        assert!(!r.contains("-s 10.0.0.2"));
    }

    #[test]
    fn resolvers_come_from_resolv_conf() {
        let conf = "# generated\nnameserver 127.0.0.11\nnameserver fe80::1\noptions ndots:0\n";
        assert_eq!(name_servers(conf), ["127.0.0.11"]);
        let cut = Cut {
            fault: 5,
            what: Cutting::Resolvers,
            share: 1.0,
        };
        let r = cut_rules("FL-5", &cut, &name_servers(conf));
        assert!(r.contains("-A FL-5 -d 127.0.0.11/32 -j DROP\n"));
    }
}

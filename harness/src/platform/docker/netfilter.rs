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
use crate::platform::{Cut, PlatformError};

/// The chain of fault `id` (iptables chain names are short).
pub fn chain_name(id: usize) -> String {
    format!("FL-{id}")
}

/// The iptables-restore input that drops all traffic to and from `peers`.
pub fn cut_rules(chain: &str, peers: &[String]) -> String {
    let mut s =
        format!("*filter\n:{chain} - [0:0]\n-I INPUT 1 -j {chain}\n-I OUTPUT 1 -j {chain}\n");
    for ip in peers {
        s.push_str(&format!(
            "-A {chain} -s {ip}/32 -j DROP\n-A {chain} -d {ip}/32 -j DROP\n"
        ));
    }
    s.push_str("COMMIT\n");
    s
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

/// Drops all traffic between `container` and the cut's peers.
pub async fn cut(engine: &Engine, container: &str, cut: &Cut) -> Result<(), PlatformError> {
    restore(
        engine,
        container,
        &cut_rules(&chain_name(cut.fault), &cut.peers),
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
        let r = cut_rules("FL-3", &["172.18.0.5".into()]);
        assert!(r.starts_with("*filter\n:FL-3 - [0:0]\n"));
        assert!(r.contains("-I INPUT 1 -j FL-3\n-I OUTPUT 1 -j FL-3\n"));
        assert!(r.contains("-A FL-3 -s 172.18.0.5/32 -j DROP\n-A FL-3 -d 172.18.0.5/32 -j DROP\n"));
        assert!(r.ends_with("COMMIT\n"));
        let h = heal_rules("FL-3");
        assert!(h.contains("-D INPUT -j FL-3") && h.contains("-X FL-3"));
    }
}

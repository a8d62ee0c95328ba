//! The coordinator's assignment of a consumer-group member: librdkafka
//! hands it over as bytes in Kafka's consumer protocol
//! (`ConsumerProtocolAssignment`: a version, then topics and partitions);
//! the `kafka-protocol` crate decodes them.

use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::Decodable;

/// The partitions of `topic` in an encoded assignment; `None` when the bytes
/// do not decode.
pub fn partitions_of(bytes: &[u8], topic: &str) -> Option<Vec<i32>> {
    let mut buf = bytes;
    let version = i16::from_be_bytes([*buf.first()?, *buf.get(1)?]);
    buf = &buf[2..];
    let decoded = ConsumerProtocolAssignment::decode(&mut buf, version).ok()?;
    let mut out: Vec<i32> = decoded
        .assigned_partitions
        .iter()
        .filter(|t| t.topic.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter().copied())
        .collect();
    out.sort_unstable();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The consumer protocol's bytes, written out field by field.
    fn encode(topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(0i16.to_be_bytes());
        b.extend((topics.len() as i32).to_be_bytes());
        for (name, ps) in topics {
            b.extend((name.len() as i16).to_be_bytes());
            b.extend(name.as_bytes());
            b.extend((ps.len() as i32).to_be_bytes());
            for p in *ps {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend((-1i32).to_be_bytes()); // no user data
        b
    }

    #[test]
    fn decodes_the_partitions_of_one_topic() {
        let bytes = encode(&[("orders", &[2, 0]), ("other", &[1])]);
        assert_eq!(partitions_of(&bytes, "orders"), Some(vec![0, 2]));
        assert_eq!(partitions_of(&bytes, "other"), Some(vec![1]));
        assert_eq!(partitions_of(&bytes, "none"), Some(vec![]));
    }

    #[test]
    fn truncated_bytes_do_not_decode() {
        let bytes = encode(&[("orders", &[2, 0])]);
        assert_eq!(partitions_of(&bytes[..bytes.len() - 9], "orders"), None);
        assert_eq!(partitions_of(&[], "orders"), None);
    }
}

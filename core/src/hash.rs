//! Content hashes: image tags and settings fingerprints.

/// A short content hash of named parts, order-sensitive.
pub fn content_hash<'a>(parts: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut h = blake3::Hasher::new();
    for (name, bytes) in parts {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.finalize().to_hex()[..16].to_string()
}

//! The incompressible block that download responses and upload bodies are cut from.

use bytes::Bytes;
use rand::{rngs::SmallRng, RngCore, SeedableRng};

/// Size of the shared random block: one LibreSpeed chunk.
pub const BLOCK_SIZE: usize = 1 << 20;

/// Fills one block with random bytes. It is made once per process and shared
/// by reference, so serving or sending data allocates nothing per request.
pub fn random_block() -> Bytes {
    let mut block = vec![0u8; BLOCK_SIZE];
    SmallRng::from_os_rng().fill_bytes(&mut block);
    Bytes::from(block)
}

/// Slices of `block` adding up to exactly `total` bytes, in pieces of at most
/// `piece` bytes; every slice shares the block's memory.
pub fn slices(block: &Bytes, total: u64, piece: usize) -> impl Iterator<Item = Bytes> + Send + 'static {
    let block = block.clone();
    let piece = piece.clamp(1, block.len()) as u64;
    let mut left = total;
    let mut offset = 0u64;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let len = piece.min(left).min(block.len() as u64 - offset);
        let slice = block.slice(offset as usize..(offset + len) as usize);
        offset = (offset + len) % block.len() as u64;
        left -= len;
        Some(slice)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_add_up_to_the_total_across_block_boundaries() {
        let block = Bytes::from((0..=255u8).cycle().take(1000).collect::<Vec<_>>());
        let parts: Vec<Bytes> = slices(&block, 2_500, 300).collect();
        assert_eq!(parts.iter().map(Bytes::len).sum::<usize>(), 2_500);
        assert!(parts.iter().all(|p| p.len() <= 300 && !p.is_empty()));
        let joined: Vec<u8> = parts.concat();
        assert_eq!(&joined[..1000], &block[..]);
        assert_eq!(&joined[1000..2000], &block[..]);
    }

    #[test]
    fn random_block_does_not_compress() {
        let block = random_block();
        assert_eq!(block.len(), BLOCK_SIZE);
        // A random block has close to 256 distinct byte values in any window.
        let distinct = block[..4096].iter().collect::<std::collections::HashSet<_>>().len();
        assert!(distinct > 240, "{distinct}");
    }
}

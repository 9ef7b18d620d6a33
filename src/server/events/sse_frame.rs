//! Server-Sent Events wire format. Each event is encoded once, when it is
//! published, and the same bytes go to every subscriber.

use bytes::{BufMut, Bytes, BytesMut};

/// `event:`, `id:` and one `data:` line per line of `data`, then the blank
/// line that dispatches it. CR and CRLF count as line ends, as in the spec.
pub fn event(topic: &str, id: Option<u64>, data: &str) -> Bytes {
    let mut frame = BytesMut::with_capacity(data.len() + topic.len() + 32);
    frame.put_slice(b"event: ");
    frame.put_slice(topic.as_bytes());
    frame.put_u8(b'\n');
    if let Some(id) = id {
        frame.put_slice(b"id: ");
        frame.put_slice(id.to_string().as_bytes());
        frame.put_u8(b'\n');
    }
    for line in data.split('\n').flat_map(|l| l.split('\r')) {
        frame.put_slice(b"data: ");
        frame.put_slice(line.as_bytes());
        frame.put_u8(b'\n');
    }
    frame.put_u8(b'\n');
    frame.freeze()
}

pub fn retry(milliseconds: u64) -> Bytes {
    Bytes::from(format!("retry: {milliseconds}\n\n"))
}

/// A comment line: ignored by clients, it keeps proxies from timing the stream out.
pub const HEARTBEAT: Bytes = Bytes::from_static(b": heartbeat\n\n");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_event() {
        assert_eq!(&event("speed", Some(7), r#"{"a":1}"#)[..], b"event: speed\nid: 7\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn multi_line_data_becomes_several_data_lines() {
        assert_eq!(&event("sales", Some(1), "{\n\"a\": 1\n}")[..], b"event: sales\nid: 1\ndata: {\ndata: \"a\": 1\ndata: }\n\n");
        // A stray CR must not end up inside a line, where clients would split it anyway.
        assert_eq!(&event("x", None, "a\rb")[..], b"event: x\ndata: a\ndata: b\n\n");
    }

    #[test]
    fn retry_and_heartbeat() {
        assert_eq!(&retry(3000)[..], b"retry: 3000\n\n");
        assert!(HEARTBEAT.starts_with(b":"));
    }
}

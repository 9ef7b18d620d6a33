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
    for line in lines(data) {
        frame.put_slice(b"data: ");
        frame.put_slice(line.as_bytes());
        frame.put_u8(b'\n');
    }
    frame.put_u8(b'\n');
    frame.freeze()
}

/// The lines of `data` as the SSE spec splits a stream: at CRLF, LF or a lone CR.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(text)
            }
            Some(end) => {
                let skip = if text[end..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[end + skip..]);
                Some(&text[..end])
            }
        }
    })
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
        // CRLF is one line end, not two: no empty line appears between.
        assert_eq!(&event("x", None, "a\r\nb")[..], b"event: x\ndata: a\ndata: b\n\n");
        assert_eq!(&event("x", None, "a\n\r\nb\r")[..], b"event: x\ndata: a\ndata: \ndata: b\ndata: \n\n");
    }

    /// What an EventSource hands the page for one frame: the spec's parser.
    fn parse(frame: &[u8]) -> Vec<eventsource_stream::Event> {
        use eventsource_stream::Eventsource;
        use futures_util::StreamExt;
        let body = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::copy_from_slice(frame))]);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a test runtime");
        runtime.block_on(body.eventsource().map(|event| event.expect("a well-formed frame")).collect())
    }

    proptest::proptest! {
        /// Whatever the text, a client receives it with every line end as LF,
        /// under the right event name and id, as exactly one event.
        #[test]
        fn any_text_arrives_whole_with_normalised_line_ends(data in "(?s)[a-z{}\":, \r\n\u{e9}\u{1F600}]{1,40}", id in 0u64..u64::MAX) {
            let events = parse(&event("sales", Some(id), &data));
            proptest::prop_assert_eq!(events.len(), 1);
            proptest::prop_assert_eq!(&events[0].event, "sales");
            proptest::prop_assert_eq!(&events[0].id, &id.to_string());
            proptest::prop_assert_eq!(&events[0].data, &data.replace("\r\n", "\n").replace('\r', "\n"));
        }
    }

    #[test]
    fn retry_and_heartbeat() {
        assert_eq!(&retry(3000)[..], b"retry: 3000\n\n");
        assert!(HEARTBEAT.starts_with(b":"));
    }
}

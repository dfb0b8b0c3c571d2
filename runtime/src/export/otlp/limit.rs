//! Export requests under a size limit: a batch too large for one request goes out as several,
//! a request the receiver refuses as too large is halved and sent again, and a span that
//! cannot fit a request on its own is dropped and counted. Nothing is sent twice as it was.

use super::Encoder;
use super::encode::RequestSize;
use crate::export::ExportError;
use crate::export::SpanBatch;
use std::ops::Range;

/// Sends the protobuf request for `batch` through `send`, in requests of at most `max` bytes.
///
/// The common case costs nothing more: the batch is encoded once and sent whole when it fits
/// and the receiver takes it. Otherwise the spans are encoded one by one and grouped into
/// requests that fit, in order.
pub(super) fn export_protobuf(
    encoder: &mut Encoder,
    batch: &mut SpanBatch,
    max: usize,
    send: &mut dyn FnMut(&[u8]) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let whole = encoder.encode(batch);
    let mut refused = false;
    if whole.len() <= max {
        match send(whole) {
            Err(e) if is_size_refusal(&e) && batch.len() > 1 => refused = true,
            done => return done,
        }
    }
    // Split: each span's bytes, then runs of them that fit.
    let n = encoder.encode_spans(batch);
    let encoder = &*encoder;
    let mut groups = Vec::new();
    let mut first = 0;
    let mut size = RequestSize::default();
    for i in 0..n {
        size.add(encoder, i);
        if i > first && size.len(encoder) > max {
            groups.push(first..i);
            first = i;
            size.clear();
            size.add(encoder, i);
        }
    }
    groups.push(first..n);
    if refused {
        // The receiver's limit is below ours: its halves, never the same request again.
        groups = vec![0..n / 2, n / 2..n];
    }
    let mut build = |r: Range<usize>, out: &mut Vec<u8>| encoder.request(r, out);
    deliver(groups, max, &mut build, send)
}

/// Sends the requests `build` makes for each of `groups` (ranges of spans, in order), none
/// over `max` bytes: a request over it, or refused by the receiver as too large, is halved
/// and each half sent; a single span over it is dropped. A failure of any other kind ends
/// the export, the spans not yet delivered counted as failed.
///
/// `Ok` when every span was delivered; otherwise the error, wrapped in
/// [`ExportError::Partial`] when some spans were delivered.
pub(super) fn deliver(
    groups: Vec<Range<usize>>,
    max: usize,
    build: &mut dyn FnMut(Range<usize>, &mut Vec<u8>),
    send: &mut dyn FnMut(&[u8]) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let total: usize = groups.iter().map(ExactSizeIterator::len).sum();
    let mut todo: Vec<Range<usize>> = groups.into_iter().rev().collect();
    let mut body = Vec::new();
    let (mut oversized, mut lost) = (0, 0);
    let mut refusal = None;
    let mut error = None;
    while let Some(range) = todo.pop() {
        build(range.clone(), &mut body);
        let too_large = if body.len() > max {
            true
        } else {
            match send(&body) {
                Ok(()) => false,
                Err(e) if is_size_refusal(&e) => {
                    refusal = Some(e);
                    true
                }
                Err(e) => {
                    lost = range.len() + todo.iter().map(ExactSizeIterator::len).sum::<usize>();
                    error = Some(e);
                    break;
                }
            }
        };
        if too_large {
            if range.len() > 1 {
                let mid = range.start + range.len() / 2;
                todo.push(mid..range.end);
                todo.push(range.start..mid);
            } else {
                oversized += 1;
            }
        }
    }
    let failed = oversized + lost;
    if failed == 0 {
        return Ok(());
    }
    let error = error.or(refusal).unwrap_or_else(|| {
        ExportError::Failed(format!(
            "{oversized} span(s) too large for an OTLP request of at most {max} bytes \
             (TRACED_OTLP_MAX_REQUEST_SIZE), each alone; dropped"
        ))
    });
    if failed == total {
        Err(error)
    } else {
        Err(ExportError::Partial {
            failed,
            error: Box::new(error),
        })
    }
}

/// Whether the receiver refused a request for its size: HTTP 413, or gRPC
/// `RESOURCE_EXHAUSTED` / `OUT_OF_RANGE` whose message speaks of size. Sending the same
/// request again cannot succeed.
pub(super) fn is_size_refusal(error: &ExportError) -> bool {
    match error {
        ExportError::HttpStatus { status: 413, .. } => true,
        ExportError::GrpcStatus { code, message } => grpc_size_refusal(*code, message),
        _ => false,
    }
}

/// gRPC's form of a size refusal: `RESOURCE_EXHAUSTED` (8, grpc-go: "received message larger
/// than max") or `OUT_OF_RANGE` (11, tonic: "decoded message length too large") about size.
pub(super) fn grpc_size_refusal(code: i32, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    matches!(code, 8 | 11)
        && ["larger than", "too large", "message length", "size"]
            .iter()
            .any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivers `sizes` (bytes per span, requests built as their sum) under `max`, with a
    /// receiver that refuses requests over `accepts` as too large; returns the result and the
    /// requests it took, as span ranges.
    fn run(
        sizes: &[usize],
        max: usize,
        accepts: usize,
    ) -> (Result<(), ExportError>, Vec<Range<usize>>) {
        let groups = std::iter::once(0..sizes.len()).collect();
        let mut ranges = Vec::new();
        let mut receive = |body: &[u8]| {
            if body.len() > accepts {
                Err(ExportError::HttpStatus {
                    status: 413,
                    body: String::new(),
                })
            } else {
                Ok(())
            }
        };
        let result = deliver(
            groups,
            max,
            &mut |r, out| {
                out.clear();
                out.resize(sizes[r.clone()].iter().sum(), 0);
                ranges.push(r);
            },
            &mut receive,
        );
        (result, ranges)
    }

    #[test]
    fn halves_until_it_fits_and_drops_a_span_alone_too_large() {
        let (result, ranges) = run(&[10, 10, 10, 10], 100, 100);
        assert_eq!(result, Ok(()));
        assert_eq!((ranges.len(), &ranges[0]), (1, &(0..4)));
        // Our limit: 25 bytes.
        let (result, ranges) = run(&[10, 10, 10, 10], 25, 100);
        assert_eq!(result, Ok(()));
        assert_eq!(ranges, [0..4, 0..2, 2..4]);
        // The receiver's limit is lower than ours: halved on its refusal.
        let (result, ranges) = run(&[10, 10, 10, 10], 100, 15);
        assert_eq!(result, Ok(()));
        assert_eq!(ranges, [0..4, 0..2, 0..1, 1..2, 2..4, 2..3, 3..4]);
        // One span alone over the limit: the others go, it is counted.
        let (result, _) = run(&[10, 50, 10], 25, 100);
        match result {
            Err(ExportError::Partial { failed: 1, error }) => {
                assert!(error.to_string().contains("too large"), "{error}");
            }
            other => panic!("{other:?}"),
        }
        // All of them too large: the plain error.
        let (result, _) = run(&[50], 25, 100);
        assert!(matches!(result, Err(ExportError::Failed(_))), "{result:?}");
    }

    #[test]
    fn size_refusals() {
        let grpc = |code, message: &str| ExportError::GrpcStatus {
            code,
            message: message.to_owned(),
        };
        assert!(is_size_refusal(&ExportError::HttpStatus {
            status: 413,
            body: String::new()
        }));
        assert!(is_size_refusal(&grpc(
            8,
            "grpc: received message larger than max (8500000 vs. 4194304)"
        )));
        assert!(is_size_refusal(&grpc(
            11,
            "Error, decoded message length too large: found 2000 bytes, the limit is: 1000 bytes"
        )));
        assert!(!is_size_refusal(&grpc(8, "quota exceeded, retry later")));
        assert!(!is_size_refusal(&grpc(11, "scripted")));
        assert!(!is_size_refusal(&grpc(14, "message too large")));
    }
}

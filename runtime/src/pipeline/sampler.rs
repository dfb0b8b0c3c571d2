//! Samplers: which spans are recorded and exported. The decision is taken before any
//! attribute is built, so an unsampled span formats nothing and allocates nothing.

use crate::model::SpanKind;
use crate::model::{SpanContext, TraceId};
use std::fmt;
use std::sync::Arc;

/// What a sampler decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplingDecision {
    /// Not recorded, not exported; the context still propagates with the sampled flag off.
    Drop,
    /// Recorded (attributes, events) but not exported; the sampled flag stays off.
    RecordOnly,
    /// Recorded and exported; the sampled flag is set.
    RecordAndSample,
}

/// A custom sampling strategy.
///
/// Samplers see the parent, trace id, name and kind, not the attributes: attributes are only
/// built once a span is known to be sampled, which is what keeps unsampled spans free.
pub trait ShouldSample: Send + Sync + fmt::Debug {
    /// The decision for a new span.
    fn should_sample(
        &self,
        parent: Option<&SpanContext>,
        trace_id: TraceId,
        name: &str,
        kind: SpanKind,
    ) -> SamplingDecision;
    /// A description, as OpenTelemetry's `GetDescription`.
    fn description(&self) -> String {
        format!("{self:?}")
    }
}

/// The built-in samplers of the OpenTelemetry SDK.
///
/// ```
/// use traced_runtime::Sampler;
/// // Sample 10% of new traces, and follow the caller's decision otherwise.
/// let s = Sampler::parent_based(Sampler::TraceIdRatio(0.1));
/// assert_eq!(s.description(), "ParentBased{root:TraceIdRatioBased{0.1},remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}");
/// ```
#[derive(Clone, Debug)]
pub enum Sampler {
    /// Every span.
    AlwaysOn,
    /// No span.
    AlwaysOff,
    /// A fraction of traces, decided from the trace id so every service agrees.
    TraceIdRatio(f64),
    /// Follow the parent's sampled flag; ask `root` for spans without a parent.
    ParentBased(Box<ParentBased>),
    /// Your own strategy.
    Custom(Arc<dyn ShouldSample>),
}

/// The five delegates of a parent-based sampler.
#[derive(Clone, Debug)]
pub struct ParentBased {
    /// For spans without a parent.
    pub root: Sampler,
    /// Parent from another process, sampled. Default: always on.
    pub remote_parent_sampled: Sampler,
    /// Parent from another process, not sampled. Default: always off.
    pub remote_parent_not_sampled: Sampler,
    /// Parent in this process, sampled. Default: always on.
    pub local_parent_sampled: Sampler,
    /// Parent in this process, not sampled. Default: always off.
    pub local_parent_not_sampled: Sampler,
}

impl Default for Sampler {
    /// OpenTelemetry's default: `ParentBased(root = AlwaysOn)`.
    fn default() -> Self {
        Sampler::parent_based(Sampler::AlwaysOn)
    }
}

impl Sampler {
    /// A parent-based sampler with `root` for roots and the default delegates otherwise.
    pub fn parent_based(root: Sampler) -> Self {
        Sampler::ParentBased(Box::new(ParentBased {
            root,
            remote_parent_sampled: Sampler::AlwaysOn,
            remote_parent_not_sampled: Sampler::AlwaysOff,
            local_parent_sampled: Sampler::AlwaysOn,
            local_parent_not_sampled: Sampler::AlwaysOff,
        }))
    }

    /// The decision for a new span with this parent (`None` for a root).
    #[inline]
    pub fn should_sample(
        &self,
        parent: Option<&SpanContext>,
        trace_id: TraceId,
        name: &str,
        kind: SpanKind,
    ) -> SamplingDecision {
        match self {
            Sampler::AlwaysOn => SamplingDecision::RecordAndSample,
            Sampler::AlwaysOff => SamplingDecision::Drop,
            Sampler::TraceIdRatio(ratio) => ratio_decision(*ratio, trace_id),
            Sampler::ParentBased(pb) => {
                let delegate = match parent {
                    None => &pb.root,
                    Some(p) => match (p.is_remote(), p.is_sampled()) {
                        (true, true) => &pb.remote_parent_sampled,
                        (true, false) => &pb.remote_parent_not_sampled,
                        (false, true) => &pb.local_parent_sampled,
                        (false, false) => &pb.local_parent_not_sampled,
                    },
                };
                delegate.should_sample(parent, trace_id, name, kind)
            }
            Sampler::Custom(s) => s.should_sample(parent, trace_id, name, kind),
        }
    }

    /// Whether every child of an unsampled parent in this process is dropped, whatever its
    /// name or kind: lets the hot path skip the sampler for them.
    pub(crate) fn drops_unsampled_local_children(&self) -> bool {
        match self {
            Sampler::AlwaysOff => true,
            Sampler::ParentBased(pb) => matches!(pb.local_parent_not_sampled, Sampler::AlwaysOff),
            _ => false,
        }
    }

    /// Whether every child of a sampled parent in this process is sampled, whatever its name
    /// or kind: lets the hot path skip the sampler for them.
    pub(crate) fn samples_sampled_local_children(&self) -> bool {
        match self {
            Sampler::AlwaysOn => true,
            Sampler::ParentBased(pb) => matches!(pb.local_parent_sampled, Sampler::AlwaysOn),
            _ => false,
        }
    }

    /// Whether every root (a span with no parent) is sampled, whatever its name or kind:
    /// lets the hot path skip the sampler for them.
    pub(crate) fn samples_roots(&self) -> bool {
        match self {
            Sampler::AlwaysOn => true,
            Sampler::ParentBased(pb) => matches!(pb.root, Sampler::AlwaysOn),
            _ => false,
        }
    }

    /// OpenTelemetry's description string.
    pub fn description(&self) -> String {
        match self {
            Sampler::AlwaysOn => "AlwaysOnSampler".into(),
            Sampler::AlwaysOff => "AlwaysOffSampler".into(),
            Sampler::TraceIdRatio(r) => format!("TraceIdRatioBased{{{r}}}"),
            Sampler::ParentBased(pb) => format!(
                "ParentBased{{root:{},remoteParentSampled:{},remoteParentNotSampled:{},localParentSampled:{},localParentNotSampled:{}}}",
                pb.root.description(),
                pb.remote_parent_sampled.description(),
                pb.remote_parent_not_sampled.description(),
                pb.local_parent_sampled.description(),
                pb.local_parent_not_sampled.description()
            ),
            Sampler::Custom(s) => s.description(),
        }
    }
}

/// Consistent ratio sampling on the trace id's 56 least significant bits (the part the W3C
/// level 2 random flag guarantees random): sampled when they are below `ratio * 2^56`, so a
/// larger ratio samples a superset of what a smaller one samples.
fn ratio_decision(ratio: f64, trace_id: TraceId) -> SamplingDecision {
    const SPACE: f64 = (1u64 << 56) as f64;
    let r = trace_id.to_u128() as u64 & ((1 << 56) - 1);
    let threshold = if ratio.is_nan() {
        0.0
    } else {
        ratio.clamp(0.0, 1.0) * SPACE
    };
    if (r as f64) < threshold {
        SamplingDecision::RecordAndSample
    } else {
        SamplingDecision::Drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SpanId, TraceFlags, TraceState};

    fn decide(s: &Sampler, parent: Option<&SpanContext>) -> SamplingDecision {
        s.should_sample(parent, TraceId::random(), "x", SpanKind::Internal)
    }

    #[test]
    fn ratio_bounds_and_rate() {
        assert_eq!(
            decide(&Sampler::TraceIdRatio(0.0), None),
            SamplingDecision::Drop
        );
        assert_eq!(
            decide(&Sampler::TraceIdRatio(1.0), None),
            SamplingDecision::RecordAndSample
        );
        let s = Sampler::TraceIdRatio(0.25);
        let n = (0..20_000)
            .filter(|_| decide(&s, None) == SamplingDecision::RecordAndSample)
            .count();
        assert!((4_000..6_000).contains(&n), "{n}");
    }

    #[test]
    fn parent_based_follows_each_delegate() {
        let s = Sampler::default();
        let cx = |remote, sampled| {
            SpanContext::new(
                TraceId::random(),
                SpanId::random(),
                TraceFlags::NOT_SAMPLED.with_sampled(sampled),
                remote,
                TraceState::NONE,
            )
        };
        assert_eq!(decide(&s, None), SamplingDecision::RecordAndSample);
        assert_eq!(
            decide(&s, Some(&cx(true, true))),
            SamplingDecision::RecordAndSample
        );
        assert_eq!(decide(&s, Some(&cx(true, false))), SamplingDecision::Drop);
        assert_eq!(
            decide(&s, Some(&cx(false, true))),
            SamplingDecision::RecordAndSample
        );
        assert_eq!(decide(&s, Some(&cx(false, false))), SamplingDecision::Drop);
        let off = Sampler::parent_based(Sampler::AlwaysOff);
        assert_eq!(decide(&off, None), SamplingDecision::Drop);
        assert!(s.samples_roots() && Sampler::AlwaysOn.samples_roots());
        assert!(!off.samples_roots() && !Sampler::TraceIdRatio(0.5).samples_roots());
    }
}

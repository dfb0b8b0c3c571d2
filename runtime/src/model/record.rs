//! A span while it runs and until it is exported: the compact record the hot path writes, and
//! the batches in which finished records reach a processor.
//!
//! A record holds what almost every span needs and nothing else: ids, two raw clock readings,
//! a static name, kind and code location, and the first [`INLINE_ATTRS`] attributes with
//! static keys (a `#[traced]` function's arguments). Everything rarer (a name built at run
//! time, more attributes, events, links, a status, a trace state, explicit timestamps) lives
//! in a [`Cold`] part allocated on first use. Records live in boxes that threads reuse; a
//! finished record travels to the processor in its box (a pointer moves, nothing is copied)
//! and becomes an exporter's [`SpanData`] only there, off the hot path: on the batch
//! processor's thread for a remote backend.

// Views of records, batch iterators and the read-ahead exist for the OTLP encoder; without
// an OTLP feature they are unused (the lint stays on wherever an OTLP feature is, as in CI).
#![cfg_attr(
    not(any(feature = "otlp-http", feature = "otlp-grpc")),
    allow(dead_code)
)]

use crate::model::clock;
use crate::model::{Attributes, Event, Link, SpanData, SpanKind, SpanLimits, Status};
use crate::model::{CodeLocation, InstrumentationScope};
use crate::model::{Key, KeyValue, StringValue, Value};
use crate::model::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use std::borrow::Cow;
use std::fmt;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

/// Attributes with static keys kept in the record itself: the arguments of most functions,
/// with their `attrs(..)`. Eight: a function of six arguments with two `attrs` allocates
/// nothing (with four, the fifth attribute cost the record a [`Cold`] part and its vector,
/// two allocations per call). A record is 496 bytes; a span touches only the lines of the
/// attributes it has.
pub(crate) const INLINE_ATTRS: usize = 8;

// `Record::raw` has a bit per inline attribute.
const _: () = assert!(INLINE_ATTRS <= u8::BITS as usize);

/// An attribute with a static key, in a record.
pub(crate) struct Attr {
    pub(crate) key: &'static str,
    pub(crate) value: Value,
}

/// Bits of [`Record::bits`].
pub(crate) mod bits {
    /// The parent came from another process.
    pub(crate) const PARENT_REMOTE: u8 = 1;
    /// Attributes and events are kept.
    pub(crate) const RECORDING: u8 = 2;
    /// Exported when it ends.
    pub(crate) const SAMPLED: u8 = 4;
    /// The thread was panicking when the span of a `#[traced]` function started: its end
    /// records no panic (one that unwinds through the function does).
    pub(crate) const WAS_PANICKING: u8 = 8;
    /// In place of `SAMPLED`: exported when it ends, after an integration settles it
    /// (`context::hook::settle_at_end`).
    #[cfg(feature = "tracing")]
    pub(crate) const SETTLE: u8 = 16;
}

/// A finished record of a batch, borrowed before [`Record::scrub`]: its inline attributes in
/// [`Record::pending`] may still hold a URL password, or be longer than the limit. Read it
/// through [`scrubbed`](Unscrubbed::scrubbed), or through [`peek`](Unscrubbed::peek) after
/// checking each pending string attribute with [`scrub_keeps_str`] (which the OTLP encoder
/// does in the pass in which it reads the values anyway).
pub(crate) struct Unscrubbed<'a>(&'a mut Record, &'a AtomicBool);

impl<'a> Unscrubbed<'a> {
    /// A record as a batch would hand it out, for tests of its readers (`owning`: the
    /// batch's mark that a record may free something, see [`SpanBatch::owning`]).
    #[cfg(test)]
    pub(crate) fn new(record: &'a mut Record, owning: &'a AtomicBool) -> Self {
        Unscrubbed(record, owning)
    }

    /// The record, scrubbed. A scrubbed value may have moved to the heap: the batch then
    /// looks at its records when it is cleared.
    #[inline]
    pub(crate) fn scrubbed(self) -> &'a Record {
        if self.0.pending() != 0 {
            self.1.store(true, Ordering::Relaxed);
        }
        self.0.scrub();
        self.0
    }

    /// The record as it is: a string value of an attribute in [`Record::pending`] may only
    /// be read once [`scrub_keeps_str`] says scrubbing would leave it as it is (an array's
    /// not at all; numbers are final).
    #[inline(always)]
    pub(crate) fn peek(&self) -> &Record {
        self.0
    }
}

/// A span's record: see the module documentation.
///
/// In declaration order (`repr(C)`): the fields every span writes first (112 bytes), then the
/// inline attributes, so that a span with two attributes writes about four cache lines, all
/// together, rather than the two ends of the box. Left to the compiler, the attributes came
/// first and the rest 384 bytes in, past the [`PREFETCH_BYTES`] the batch worker asks for
/// ahead of reading a record: it fetched six attributes and waited for the header. Each line
/// a span writes is also one the worker, which read the box last, must give up.
/// `throughput cpu traced-otlp --pin`, three sets of 10 to 14 interleaved runs against the
/// layout before: process CPU per exported span 115.4 → 110.5, 125.2 → 113.8 and
/// 108.1 → 102.6 ns (median of the runs in the fast cross-core mode), the counting
/// exporter's 54.2 → 53.6 and 55.7 → 55.0; three more instructions a span (child 460).
#[repr(C)]
pub(crate) struct Record {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: SpanId,
    pub(crate) start: clock::Instant,
    pub(crate) end: clock::Instant,
    /// The name, unless [`Cold::name`] replaces it.
    pub(crate) name: &'static str,
    pub(crate) code: Option<&'static CodeLocation>,
    pub(crate) scope: &'static InstrumentationScope,
    /// The pipeline that started the span: its limits here, its processor at the end.
    pub(crate) pipeline: PipelineRef,
    pub(crate) cold: Option<Box<Cold>>,
    pub(crate) flags: TraceFlags,
    pub(crate) bits: u8,
    pub(crate) kind: SpanKind,
    /// Initialized entries of `attrs`.
    pub(crate) len: u8,
    /// Entries of `attrs` that attributes may fill: [`INLINE_ATTRS`], or fewer under a lower
    /// attribute limit ([`inline_room`]), lowered to `len` once an attribute went to the cold
    /// part (inline attributes come first, so order is kept). One comparison per argument.
    pub(crate) room: u8,
    /// Bit `i`: inline attribute `i` is final as written. Every other inline attribute (an
    /// argument of a `#[traced]` function, unless revealed) may be a string holding a URL
    /// whose password is not yet replaced, nor the string cut to the length limit (which
    /// comes after): the thread that records the span does nothing for it, and
    /// [`Record::scrub`] does the work where the record is read for export (every read of a
    /// finished record goes through it, or, for the OTLP encoder, through a check that it
    /// would change nothing: see [`SpanBatch`] and [`Unscrubbed`]). A value forgotten here
    /// is scrubbed, never leaked.
    pub(crate) raw: u8,
    /// Bit `i`: inline attribute `i` may have owned memory when written (a long string, an
    /// array). The record's drop frees only these, and those that [`Record::scrub`] may have
    /// rewritten since (bits of `raw` not in `settled`): a span of numbers and short strings
    /// is dropped without a look at its attributes.
    pub(crate) owned: u8,
    /// The bits of `raw` set where an attribute is written or replaced (and `owned` kept
    /// up to date); any other bit of `raw` was set by [`Record::scrub`].
    pub(crate) settled: u8,
    /// The span of a `#[traced]` function, entered: where the thread's context stack stood
    /// before, plus one (0: not entered). Kept here, in padding, so that the guard in every
    /// traced frame is one pointer.
    pub(crate) entered: u32,
    pub(crate) attrs: [MaybeUninit<Attr>; INLINE_ATTRS],
}

/// Appends attributes whose static keys are known to be new (a `#[traced]` function's
/// arguments and `attrs`) to a record, one after the other. It points at the next inline
/// entry to fill and at the end of the room, so that each attribute of a run is checked
/// against a register and written at a fixed distance from the last: no reload of `len` (the
/// stores of a value may alias it as far as the compiler knows) and no address computed from
/// it. The record's `len` grows as each attribute is written, so a panic between two (in a
/// user's `attrs` expression) leaves the record whole.
#[derive(Debug)]
pub(crate) struct AttrCursor<'a> {
    rec: NonNull<Record>,
    /// Entry `rec.len` of `rec.attrs`: the next to fill.
    next: NonNull<MaybeUninit<Attr>>,
    /// Entry `rec.room`: where the entries attributes may fill end.
    end: NonNull<MaybeUninit<Attr>>,
    _rec: std::marker::PhantomData<&'a mut Record>,
}

impl<'a> AttrCursor<'a> {
    #[inline(always)]
    pub(crate) fn new(rec: &'a mut Record) -> Self {
        let rec = NonNull::from(rec);
        // SAFETY: `rec` comes from a live `&mut Record`, which the cursor borrows for `'a`.
        let (next, end) = unsafe { Self::entries(rec) };
        AttrCursor {
            rec,
            next,
            end,
            _rec: std::marker::PhantomData,
        }
    }

    /// Entries `len` and `room` of the record's `attrs`.
    ///
    /// # Safety
    /// `rec` points at a live record that nothing else uses meanwhile.
    #[inline(always)]
    unsafe fn entries(
        rec: NonNull<Record>,
    ) -> (NonNull<MaybeUninit<Attr>>, NonNull<MaybeUninit<Attr>>) {
        // SAFETY: the caller's contract; `len <= room <= INLINE_ATTRS`: entry `len` is within
        // the array, or one past its end.
        unsafe {
            let r = rec.as_ptr();
            let base = NonNull::new_unchecked((&raw mut (*r).attrs).cast::<MaybeUninit<Attr>>());
            (
                base.add(usize::from((*r).len)),
                base.add(usize::from((*r).room)),
            )
        }
    }

    /// The record, for what is not an appended attribute (a link); the cursor reads `len`
    /// and `room` again afterwards.
    #[inline]
    pub(crate) fn with_record<R>(&mut self, f: impl FnOnce(&mut Record) -> R) -> R {
        // SAFETY: the cursor borrows the record for `'a`, and `self` for as long as `f` runs.
        unsafe {
            let out = f(&mut *self.rec.as_ptr());
            (self.next, self.end) = Self::entries(self.rec);
            out
        }
    }

    /// Appends an attribute whose key is known to be new, within the limits. `write` builds
    /// the value straight into its slot and returns it (`None`: no value, nothing recorded),
    /// with no temporary to copy; only a reference to the slot itself counts as written (safe
    /// code cannot make one without writing it, so a `write` that lies is not unsound). With
    /// `scrub_urls` a string value has the password of a URL in it replaced before it is
    /// exported ([`crate::secret`]), later and off this thread ([`Record::scrub`]); `may_own`
    /// tells whether the value may own memory, as far as the caller knows before writing it
    /// (`false` spares the look at the written value; a wrong `false` leaks it).
    #[inline(always)]
    pub(crate) fn push(
        &mut self,
        key: &'static str,
        scrub_urls: bool,
        may_own: bool,
        write: impl for<'b> FnOnce(&'b mut MaybeUninit<Value>) -> Option<&'b mut Value>,
    ) {
        if self.next == self.end {
            // Out of line: the common case keeps a small frame (no stack for a value). It
            // lowers `room` to `len`, where it already is: later attributes follow.
            // SAFETY: the cursor borrows the record; no pointer into it is in use meanwhile.
            unsafe { (*self.rec.as_ptr()).push_attribute_past_inline(key, scrub_urls, write) };
            return;
        }
        debug_assert!(self.next < self.end, "next <= end");
        // SAFETY: `next < end`: entry `len < room <= INLINE_ATTRS` exists and is unused
        // (`room` starts at most at `INLINE_ATTRS` and only ever drops to `len`; nothing but
        // the cursor changes either while it borrows the record, and `with_record` reads
        // them again). The value is written first, through a `MaybeUninit` view of its
        // field, and counts as written only if `write` hands back that very place; the key
        // next (in `commit`); `len` covers the entry only once both are written. If `write`
        // panics or writes nothing, the entry stays outside `len`.
        unsafe {
            let slot = self.next.as_ptr().cast::<Attr>();
            let place = &raw mut (*slot).value;
            let value = &mut *place.cast::<MaybeUninit<Value>>();
            // Two copies of the write: in the common one the value is known to own nothing,
            // which spares the look at it, and lets the write drop its own branch on the same
            // question (a string of more than 16 bytes, an integer past `i64`).
            if may_own {
                if !write(value).is_some_and(|v| std::ptr::eq(v, place)) {
                    return;
                }
                // (A cut in `commit` never makes a value own memory it did not.)
                let owns = (*place).owns_memory();
                self.commit(key, scrub_urls, owns);
            } else {
                if !write(value).is_some_and(|v| std::ptr::eq(v, place)) {
                    return;
                }
                self.commit(key, scrub_urls, false);
            }
        }
    }

    /// The end of [`push`](Self::push), once the value of entry `len` is written: the key,
    /// then `len` covers the entry.
    ///
    /// # Safety
    /// `len < room`, and the value of entry `len` is written.
    #[inline(always)]
    unsafe fn commit(&mut self, key: &'static str, scrub_urls: bool, owns: bool) {
        // SAFETY: the caller's contract.
        unsafe {
            let rec = self.rec.as_ptr();
            let slot = self.next.as_ptr().cast::<Attr>();
            (&raw mut (*slot).key).write(key);
            // (Added to in place: the common case keeps no copy of `len`.)
            (*rec).len += 1;
            // Bit `i` of entry `i`, from its address: only where it is needed (rare).
            let entries = (&raw mut (*rec).attrs).cast::<Attr>();
            let bit = 1_u8 << slot.offset_from(entries);
            self.next = self.next.add(1);
            if owns {
                (*rec).owned |= bit;
            }
            // A value to scrub is left as written, whatever its type (what is not a string
            // long enough to hold a URL is passed over at export, off this thread), and cut
            // after it is scrubbed: a cut could leave a password whose URL no longer parses.
            // Any other is cut now and marked final.
            if !scrub_urls {
                (*rec).raw |= bit;
                (*rec).settled |= bit;
                if let Some(max) = (*rec).limits().max_attribute_value_length {
                    truncate(&mut (*slot).value, Some(max));
                }
            }
        }
    }
}

/// What few spans have.
#[derive(Default)]
pub(crate) struct Cold {
    /// A name set at run time (`span(format!(..))`, `update_name`, an HTTP server's
    /// `GET /users/{id}`): up to 24 bytes inline, so a short one costs no allocation of its
    /// own (a static one is kept by reference).
    pub(crate) name: Option<StringValue>,
    pub(crate) trace_state: TraceState,
    /// Attributes after the inline ones, in order.
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) dropped_attributes_count: u32,
    pub(crate) events: Vec<Event>,
    pub(crate) dropped_events_count: u32,
    pub(crate) links: Vec<Link>,
    pub(crate) dropped_links_count: u32,
    pub(crate) status: Status,
    /// Explicit start and end times, in Unix nanoseconds.
    pub(crate) start_unix_nanos: Option<u64>,
    pub(crate) end_unix_nanos: Option<u64>,
    /// The `tracing` span that stands for this one in `tracing::Span::current()` (feature
    /// `tracing`, with the layer installed), created when the span is first entered.
    #[cfg(feature = "tracing")]
    pub(crate) mirror: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// The pipeline that started a record, as the model sees it: the address of its
/// [`SpanLimits`], the pipeline's first field. The pipeline layer makes one from a
/// `&'static Pipeline` and turns it back into one (`pipeline/installed.rs`): the model never
/// names the pipeline, and the record still holds one pointer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct PipelineRef(NonNull<SpanLimits>);

// SAFETY: a `PipelineRef` is a shared `'static` reference to an installed pipeline (or, in
// unit tests, to static limits), which is `Sync` and never written through it.
unsafe impl Send for PipelineRef {}
// SAFETY: as above.
unsafe impl Sync for PipelineRef {}

impl PipelineRef {
    /// # Safety
    /// `limits` must point at the `limits` field of a `Pipeline` that lives for the rest of
    /// the process, with the provenance of the whole pipeline (a pointer cast from
    /// `&'static Pipeline`, not a reference to the field).
    #[inline]
    pub(crate) const unsafe fn from_raw(limits: NonNull<SpanLimits>) -> Self {
        PipelineRef(limits)
    }

    /// The pointer [`from_raw`](Self::from_raw) was given.
    #[inline]
    pub(crate) const fn as_raw(self) -> NonNull<SpanLimits> {
        self.0
    }

    /// The pipeline's limits.
    #[inline]
    pub(crate) fn limits(self) -> &'static SpanLimits {
        // SAFETY: `from_raw`'s contract: a field of a pipeline that is never freed.
        unsafe { self.0.as_ref() }
    }
}

#[cfg(test)]
impl PipelineRef {
    /// Default limits and no pipeline, for records made by hand in unit tests; such records
    /// never reach a processor through their pipeline, and `PipelineRef::get` panics on it.
    pub(crate) fn detached() -> Self {
        static LIMITS: std::sync::OnceLock<SpanLimits> = std::sync::OnceLock::new();
        PipelineRef(NonNull::from(LIMITS.get_or_init(SpanLimits::default)))
    }

    pub(crate) fn is_detached(self) -> bool {
        self == Self::detached()
    }
}

impl Drop for Record {
    #[inline]
    fn drop(&mut self) {
        let owning = self.inline_owning();
        if owning != 0 {
            self.drop_owning(owning);
        }
    }
}

impl Record {
    /// The inline attributes that may own memory (bit `i` for attribute `i`): those that may
    /// have when written, and those a scrub may have rewritten since. Numbers and short
    /// strings own nothing: no look at them.
    #[inline(always)]
    fn inline_owning(&self) -> u8 {
        self.owned | (self.raw & !self.settled)
    }

    /// The drop of the inline attributes in `owning` (bits below `len`) that own memory.
    #[cold]
    #[inline(never)]
    fn drop_owning(&mut self, mut owning: u8) {
        // Only bits of written entries are ever set; the mask is a second guard.
        owning &= ((1_u16 << self.len) - 1) as u8;
        while owning != 0 {
            let i = owning.trailing_zeros() as usize;
            owning &= owning - 1;
            // SAFETY: `i < len`: the entry is initialized, and dropped only here.
            let value = unsafe { &mut (*self.attrs[i].as_mut_ptr()).value };
            if value.owns_memory() {
                // SAFETY: as above.
                unsafe { std::ptr::drop_in_place(value) };
            }
        }
    }
}

impl Record {
    /// Whether dropping the record would free nothing: no cold part, and no inline value
    /// that may own memory, as its bits tell without a look at the values
    /// ([`Record::inline_owning`]; numbers, short and static strings: almost every span). A batch
    /// then leaves it as it is ([`SpanBatch::clear`]), with no call: forgetting it is all
    /// its drop would do.
    #[inline(always)]
    fn frees_nothing(&self) -> bool {
        self.cold.is_none() && self.inline_owning() == 0
    }
}

// `frees_nothing` looks at `cold` and the inline attributes only: every other field of a
// record must have no drop glue.
const _: () = assert!(
    !std::mem::needs_drop::<TraceId>()
        && !std::mem::needs_drop::<SpanId>()
        && !std::mem::needs_drop::<clock::Instant>()
        && !std::mem::needs_drop::<Option<&'static CodeLocation>>()
        && !std::mem::needs_drop::<PipelineRef>()
        && !std::mem::needs_drop::<TraceFlags>()
        && !std::mem::needs_drop::<SpanKind>()
);

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("name", &self.name())
            .field("trace_id", &self.trace_id)
            .field("span_id", &self.span_id)
            .finish_non_exhaustive()
    }
}

impl Record {
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.bits & bits::RECORDING != 0
    }

    #[inline]
    pub(crate) fn is_sampled(&self) -> bool {
        self.bits & bits::SAMPLED != 0
    }

    #[inline]
    fn limits(&self) -> &'static SpanLimits {
        self.pipeline.limits()
    }

    /// Renames the span: a static name by reference in the record (no cold part for it), a
    /// built one in the cold part.
    pub(crate) fn rename(&mut self, name: Cow<'static, str>) {
        match name {
            Cow::Borrowed(name) => {
                self.name = name;
                if let Some(c) = &mut self.cold {
                    c.name = None;
                }
            }
            name @ Cow::Owned(_) => self.cold().name = Some(name.into()),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self
            .cold
            .as_ref()
            .and_then(|c| c.name.as_ref())
            .map(StringValue::as_str)
        {
            Some(n) => n,
            None => self.name,
        }
    }

    pub(crate) fn trace_state(&self) -> &TraceState {
        match &self.cold {
            Some(c) => &c.trace_state,
            None => &TraceState::NONE,
        }
    }

    pub(crate) fn span_context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            false,
            self.trace_state().clone(),
        )
    }

    #[inline]
    pub(crate) fn cold(&mut self) -> &mut Cold {
        self.cold.get_or_insert_with(new_cold)
    }

    /// The inline attributes.
    #[inline]
    pub(crate) fn inline(&self) -> &[Attr] {
        // SAFETY: the first `len` entries are initialized.
        unsafe { &*(&raw const self.attrs[..usize::from(self.len)] as *const [Attr]) }
    }

    fn inline_mut(&mut self) -> &mut [Attr] {
        // SAFETY: the first `len` entries are initialized.
        unsafe { &mut *(&raw mut self.attrs[..usize::from(self.len)] as *mut [Attr]) }
    }

    fn attribute_count(&self) -> usize {
        usize::from(self.len) + self.cold.as_ref().map_or(0, |c| c.attributes.len())
    }

    /// Whether a new attribute may go inline (see [`Record::room`]).
    #[inline(always)]
    fn inline_room(&self) -> bool {
        self.len < self.room
    }

    /// An attribute goes to the cold part: later ones follow it there.
    #[inline]
    fn push_cold_attribute(&mut self, kv: KeyValue) {
        self.room = self.len;
        self.cold().attributes.push(kv);
    }

    /// [`set_attribute`](Record::set_attribute) for a key the record does not hold (see
    /// `Span::set_new_attribute`): written inline where there is room, with no search;
    /// anywhere else, through `set_attribute`.
    #[cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]
    pub(crate) fn set_new_attribute(&mut self, key: &'static str, value: Value) {
        debug_assert!(
            !self.inline().iter().any(|a| a.key == key)
                && self
                    .cold
                    .as_ref()
                    .is_none_or(|c| c.attributes.iter().all(|e| e.key != key)),
            "{key} set twice"
        );
        if !self.inline_room() {
            return self.set_attribute(KeyValue {
                key: Cow::Borrowed(key),
                value,
            });
        }
        // Room inline means no attribute in the cold part and fewer than the limit (`room`
        // is at most `max_attributes_per_span`).
        let mut value = value;
        truncate(&mut value, self.limits().max_attribute_value_length);
        self.push_inline(key, value);
    }

    /// Appends an attribute inline, where [`inline_room`](Record::inline_room) said there is
    /// room, its value already cut to the limit.
    #[inline]
    fn push_inline(&mut self, key: &'static str, value: Value) {
        let len = usize::from(self.len);
        if value.owns_memory() {
            self.owned |= 1 << len;
        }
        self.attrs[len].write(Attr { key, value });
        self.raw |= 1 << len;
        self.settled |= 1 << len;
        self.len += 1;
    }

    /// Sets an attribute, replacing one with the same key, within the limits.
    pub(crate) fn set_attribute(&mut self, kv: KeyValue) {
        let mut kv = kv;
        let limits = self.limits();
        truncate(&mut kv.value, limits.max_attribute_value_length);
        if let Some(i) = self.inline().iter().position(|a| a.key == kv.key) {
            if kv.value.owns_memory() {
                self.owned |= 1 << i;
            }
            self.inline_mut()[i].value = kv.value;
            // Set here, cut above: it replaces one that may have been to scrub.
            self.raw |= 1 << i;
            self.settled |= 1 << i;
            return;
        }
        if let Some(c) = &mut self.cold
            && let Some(e) = c.attributes.iter_mut().find(|e| e.key == kv.key)
        {
            e.value = kv.value;
            return;
        }
        if self.attribute_count() >= limits.max_attributes_per_span as usize {
            self.cold().dropped_attributes_count += 1;
            return;
        }
        match kv.key {
            Cow::Borrowed(key) if self.inline_room() => self.push_inline(key, kv.value),
            key => self.push_cold_attribute(KeyValue {
                key,
                value: kv.value,
            }),
        }
    }

    /// Appends an attribute whose key is known to be new, within the limits. `write` builds
    /// the value straight into its slot and returns it (`None`: no value, nothing recorded),
    /// with no temporary to copy. Only a reference to the slot itself counts as written: safe
    /// code cannot make one without writing it, so a `write` that lies is not unsound.
    #[cfg(any(test, feature = "tracing"))]
    #[inline(always)]
    pub(crate) fn push_attribute_with(
        &mut self,
        key: &'static str,
        write: impl for<'a> FnOnce(&'a mut MaybeUninit<Value>) -> Option<&'a mut Value>,
    ) {
        self.push_attribute_marked(key, false, write);
    }

    /// [`push_attribute_with`](Self::push_attribute_with), and with `scrub_urls` a string
    /// value has the password of a URL in it replaced before it is exported
    /// ([`crate::secret`]): for an inline attribute, later and off this thread
    /// ([`Record::scrub`]).
    #[cfg(any(test, feature = "tracing"))]
    #[inline(always)]
    pub(crate) fn push_attribute_marked(
        &mut self,
        key: &'static str,
        scrub_urls: bool,
        write: impl for<'a> FnOnce(&'a mut MaybeUninit<Value>) -> Option<&'a mut Value>,
    ) {
        self.push_attribute_told(key, scrub_urls, true, write);
    }

    /// [`push_attribute_marked`](Self::push_attribute_marked), told `may_own`: whether the
    /// value may own memory, as far as the caller knows before writing it (`false` spares the
    /// look at the written value; a wrong `false` leaks it). A run of them goes through one
    /// [`AttrCursor`].
    #[cfg(any(test, feature = "tracing"))]
    #[inline(always)]
    pub(crate) fn push_attribute_told(
        &mut self,
        key: &'static str,
        scrub_urls: bool,
        may_own: bool,
        write: impl for<'a> FnOnce(&'a mut MaybeUninit<Value>) -> Option<&'a mut Value>,
    ) {
        AttrCursor::new(self).push(key, scrub_urls, may_own, write);
    }

    /// [`AttrCursor::push`] once the inline entries are full: the value is built on the stack
    /// and goes to the cold part.
    #[cold]
    #[inline(never)]
    fn push_attribute_past_inline(
        &mut self,
        key: &'static str,
        scrub_urls: bool,
        write: impl for<'a> FnOnce(&'a mut MaybeUninit<Value>) -> Option<&'a mut Value>,
    ) {
        let mut value = MaybeUninit::uninit();
        let at: *const Value = value.as_ptr();
        if write(&mut value).is_some_and(|v| std::ptr::eq(v, at)) {
            // SAFETY: `write` returned a reference to `value` itself: it wrote it.
            let mut value = unsafe { value.assume_init() };
            if scrub_urls && let Value::String(s) = &mut value {
                scrub_url(s);
            }
            self.push_cold(key, value);
        }
    }

    /// Replaces the password of URLs in the inline attributes not marked final in
    /// [`Record::raw`], then cuts them to the length limit, and marks them final. Called
    /// wherever a finished record is read for export ([`SpanBatch`]'s accessors,
    /// [`Record::into_span_data`]), never on the thread that recorded it unless that thread
    /// exports.
    #[inline]
    pub(crate) fn scrub(&mut self) {
        let pending = self.pending();
        if pending != 0 {
            self.raw |= pending;
            self.scrub_pending(pending);
        }
    }

    /// The inline attributes [`Record::scrub`] would still look at: bit `i` for attribute `i`.
    #[inline(always)]
    pub(crate) fn pending(&self) -> u8 {
        // `len <= 8`: the shift fits.
        let all = ((1_u16 << self.len) - 1) as u8;
        all & !self.raw
    }

    #[inline(never)]
    fn scrub_pending(&mut self, pending: u8) {
        let max = self.limits().max_attribute_value_length;
        let mut marked = pending;
        let inline = self.inline_mut();
        while marked != 0 {
            let i = marked.trailing_zeros() as usize;
            marked &= marked - 1;
            if let Some(a) = inline.get_mut(i) {
                match &mut a.value {
                    Value::String(s) => scrub_string(s, max),
                    other => truncate(other, max),
                }
            }
        }
    }

    /// Appends attributes whose static keys are known to be new, their values cloned, within
    /// the limits: a `tracing` callsite's attributes, built once (`code.*`, `target`, `level`).
    #[cfg(feature = "tracing")]
    pub(crate) fn push_new_attributes(&mut self, attributes: &[(&'static str, Value)]) {
        let max = self.limits().max_attribute_value_length;
        for (key, value) in attributes {
            if !self.inline_room() {
                self.push_cold(key, value.clone());
                continue;
            }
            let mut value = value.clone();
            if max.is_some() {
                truncate(&mut value, max);
            }
            if value.owns_memory() {
                self.owned |= 1 << self.len;
            }
            self.attrs[usize::from(self.len)].write(Attr { key, value });
            self.len += 1;
        }
    }

    /// Makes room for `n` more attributes in one allocation, past the inline ones.
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn reserve_attributes(&mut self, n: usize) {
        let inline = INLINE_ATTRS - usize::from(self.len).min(INLINE_ATTRS);
        if n > inline {
            self.reserve_cold_attributes(n - inline);
        }
    }

    #[cfg(feature = "tracing")]
    #[cold]
    fn reserve_cold_attributes(&mut self, n: usize) {
        self.cold().attributes.reserve_exact(n);
    }

    /// An attribute past the inline ones, or past the limit (then only counted).
    #[cold]
    fn push_cold(&mut self, key: &'static str, mut value: Value) {
        let limits = self.limits();
        if self.attribute_count() >= limits.max_attributes_per_span as usize {
            self.cold().dropped_attributes_count += 1;
            return;
        }
        truncate(&mut value, limits.max_attribute_value_length);
        self.push_cold_attribute(KeyValue {
            key: Cow::Borrowed(key),
            value,
        });
    }

    /// Adds an event within the limits.
    pub(crate) fn add_event(&mut self, mut event: Event) {
        let limits = self.limits();
        let cold = self.cold();
        if cold.events.len() >= limits.max_events_per_span as usize {
            cold.dropped_events_count += 1;
            return;
        }
        limit_list(
            &mut event.attributes,
            &mut event.dropped_attributes_count,
            limits.max_attributes_per_event,
            limits.max_attribute_value_length,
        );
        cold.events.push(event);
    }

    /// Adds a link within the limits.
    pub(crate) fn add_link(&mut self, mut link: Link) {
        let limits = self.limits();
        let cold = self.cold();
        if cold.links.len() >= limits.max_links_per_span as usize {
            cold.dropped_links_count += 1;
            return;
        }
        limit_list(
            &mut link.attributes,
            &mut link.dropped_attributes_count,
            limits.max_attributes_per_link,
            limits.max_attribute_value_length,
        );
        cold.links.push(link);
    }

    /// Sets the status, with OpenTelemetry's precedence.
    pub(crate) fn set_status(&mut self, status: Status) {
        if status != Status::Unset {
            self.cold().status.update(status);
        }
    }

    /// Records an error outcome: status `Error` and an `exception` event, as the OpenTelemetry
    /// semantic conventions describe exceptions.
    pub(crate) fn record_exception(&mut self, exception_type: &str, message: String) {
        let event = Event::new(
            "exception",
            vec![
                KeyValue::new("exception.type", exception_type),
                KeyValue::new("exception.message", message.as_str()),
            ],
        );
        self.add_event(event);
        self.set_status(Status::error(message));
    }

    /// The exporters' form of this record: attributes in order (inline ones first), times in
    /// Unix nanoseconds.
    #[inline(always)]
    pub(crate) fn into_span_data(mut self) -> SpanData {
        self.scrub();
        let mut this = ManuallyDrop::new(self);
        let len = usize::from(this.len);
        // SAFETY: `this` is never dropped; each field with a destructor (`cold`, the first
        // `len` attributes) is taken out exactly once and owned from here on.
        let cold = this.cold.take().map(|c| *c);
        let extra = cold.as_ref().map_or(0, |c| c.attributes.len());
        let mut attributes = Attributes::new();
        if len + extra > attributes.inline_size() {
            attributes.reserve_exact(len + extra);
        }
        for a in &this.attrs[..len] {
            // SAFETY: as above: each of the first `len` is read once.
            let a = unsafe { a.assume_init_read() };
            attributes.push(KeyValue {
                key: Key::Borrowed(a.key),
                value: a.value,
            });
        }
        let (start, end) = clock::to_unix_nanos_pair(this.start, this.end);
        let mut data = SpanData {
            span_context: SpanContext::new(
                this.trace_id,
                this.span_id,
                this.flags,
                false,
                TraceState::NONE,
            ),
            parent_span_id: this.parent_span_id,
            parent_is_remote: this.bits & bits::PARENT_REMOTE != 0,
            name: Cow::Borrowed(this.name),
            kind: this.kind,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Status::Unset,
            code: this.code,
            scope: this.scope,
        };
        if let Some(c) = cold {
            data.apply_cold(c);
        }
        data
    }
}

/// A finished span, borrowed: what an encoder reads, from a record or a [`SpanData`] alike,
/// without building anything.
pub(crate) struct SpanView<'a> {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_span_id: SpanId,
    pub(crate) flags: TraceFlags,
    pub(crate) parent_is_remote: bool,
    pub(crate) trace_state: &'a TraceState,
    pub(crate) name: &'a str,
    pub(crate) kind: SpanKind,
    pub(crate) start_time_unix_nano: u64,
    pub(crate) end_time_unix_nano: u64,
    /// The attributes with static keys kept in a record; `attributes` come after them.
    pub(crate) inline: &'a [Attr],
    pub(crate) attributes: &'a [KeyValue],
    pub(crate) dropped_attributes_count: u32,
    pub(crate) events: &'a [Event],
    pub(crate) dropped_events_count: u32,
    pub(crate) links: &'a [Link],
    pub(crate) dropped_links_count: u32,
    pub(crate) status: &'a Status,
    pub(crate) code: Option<&'static CodeLocation>,
}

impl SpanView<'_> {
    /// The value of the attribute `key`, if the span has one.
    pub(crate) fn attribute(&self, key: &str) -> Option<&Value> {
        self.inline
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.value)
            .or_else(|| {
                self.attributes
                    .iter()
                    .find(|kv| kv.key == key)
                    .map(|kv| &kv.value)
            })
    }
}

static UNSET: Status = Status::Unset;

impl Record {
    /// This finished record, borrowed as a [`SpanView`]: what [`into_span_data`] would give,
    /// read in place.
    ///
    /// [`into_span_data`]: Record::into_span_data
    #[inline]
    pub(crate) fn view(&self) -> SpanView<'_> {
        let inline = self.inline();
        let (start, end) = clock::to_unix_nanos_pair(self.start, self.end);
        let mut view = SpanView {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            flags: self.flags,
            parent_is_remote: self.bits & bits::PARENT_REMOTE != 0,
            trace_state: &TraceState::NONE,
            name: self.name,
            kind: self.kind,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            inline,
            attributes: &[],
            dropped_attributes_count: 0,
            events: &[],
            dropped_events_count: 0,
            links: &[],
            dropped_links_count: 0,
            status: &UNSET,
            code: self.code,
        };
        if let Some(c) = &self.cold {
            c.apply_to(&mut view);
        }
        view
    }
}

impl Cold {
    /// The rare parts of a record, in its view.
    #[cold]
    fn apply_to<'a>(&'a self, view: &mut SpanView<'a>) {
        view.trace_state = &self.trace_state;
        if let Some(name) = &self.name {
            view.name = name.as_str();
        }
        view.attributes = &self.attributes;
        view.dropped_attributes_count = self.dropped_attributes_count;
        view.events = &self.events;
        view.dropped_events_count = self.dropped_events_count;
        view.links = &self.links;
        view.dropped_links_count = self.dropped_links_count;
        view.status = &self.status;
        if let Some(t) = self.start_unix_nanos {
            view.start_time_unix_nano = t;
        }
        if let Some(t) = self.end_unix_nanos {
            view.end_time_unix_nano = t;
        }
    }
}

impl SpanData {
    /// This span, borrowed as a [`SpanView`].
    pub(crate) fn view(&self) -> SpanView<'_> {
        let cx = &self.span_context;
        SpanView {
            trace_id: cx.trace_id(),
            span_id: cx.span_id(),
            parent_span_id: self.parent_span_id,
            flags: cx.trace_flags(),
            parent_is_remote: self.parent_is_remote,
            trace_state: cx.trace_state(),
            name: &self.name,
            kind: self.kind,
            start_time_unix_nano: self.start_time_unix_nano,
            end_time_unix_nano: self.end_time_unix_nano,
            inline: &[],
            attributes: &self.attributes,
            dropped_attributes_count: self.dropped_attributes_count,
            events: &self.events,
            dropped_events_count: self.dropped_events_count,
            links: &self.links,
            dropped_links_count: self.dropped_links_count,
            status: &self.status,
            code: self.code,
        }
    }
}

impl SpanData {
    /// The rare parts of a record.
    #[cold]
    fn apply_cold(&mut self, c: Cold) {
        self.span_context = self.span_context.clone().with_trace_state(c.trace_state);
        if let Some(name) = c.name {
            self.name = name.into_cow();
        }
        self.attributes.extend(c.attributes);
        self.dropped_attributes_count = c.dropped_attributes_count;
        self.events = c.events;
        self.dropped_events_count = c.dropped_events_count;
        self.links = c.links;
        self.dropped_links_count = c.dropped_links_count;
        self.status = c.status;
        if let Some(t) = c.start_unix_nanos {
            self.start_time_unix_nano = t;
        }
        if let Some(t) = c.end_unix_nanos {
            self.end_time_unix_nano = t;
        }
    }
}

#[cold]
fn new_cold() -> Box<Cold> {
    Box::default()
}

fn limit_list(list: &mut Vec<KeyValue>, dropped: &mut u32, max: u32, max_len: Option<u32>) {
    if list.len() > max as usize {
        *dropped += (list.len() - max as usize) as u32;
        list.truncate(max as usize);
    }
    for kv in list {
        truncate(&mut kv.value, max_len);
    }
}

pub(crate) fn truncate(value: &mut Value, max_len: Option<u32>) {
    let Some(max) = max_len else { return };
    match value {
        Value::String(s) => {
            s.truncate(max as usize);
        }
        Value::Array(crate::model::Array::String(v)) => {
            for s in v {
                s.truncate(max as usize);
            }
        }
        _ => {}
    }
}

/// The initial [`Record::room`] under `limits`.
#[inline(always)]
pub(crate) fn inline_room(limits: &SpanLimits) -> u8 {
    // At most `INLINE_ATTRS` (8): the cast keeps the value.
    INLINE_ATTRS.min(limits.max_attributes_per_span as usize) as u8
}

/// What [`Record::scrub`] does to a string value of an inline attribute: the password of a
/// URL replaced, then the text cut to `max_len`.
#[inline]
fn scrub_string(s: &mut StringValue, max_len: Option<u32>) {
    scrub_url(s);
    if let Some(max) = max_len {
        s.truncate(max as usize);
    }
}

/// Whether [`Record::scrub`] leaves a string value `text` of an inline attribute it has yet
/// to look at as it is, under the length limit `max_len`: within the limit, and too short
/// for a URL with a password or with no `@` in it (what [`scrub_url`] looks for first).
/// Numbers it always leaves. A reader that checks every pending string attribute
/// ([`Record::pending`]) so may read the record unscrubbed ([`Unscrubbed::peek`]): what it
/// reads is what a scrubbed record holds. It mirrors [`scrub_string`], and a unit test holds
/// the two together. A string of up to 16 bytes, most arguments, takes two overlapping words
/// and no loop.
#[inline(always)]
pub(crate) fn scrub_keeps_str(text: &[u8], max_len: Option<u32>) -> bool {
    if let Some(max) = max_len
        && text.len() > max as usize
    {
        return false;
    }
    let n = text.len();
    if n < URL_WITH_PASSWORD_MIN {
        return true;
    }
    if n <= 16 {
        // `8 < n <= 16`: the first and the last eight bytes cover the string.
        let head = text.first_chunk::<8>().copied().unwrap_or_default();
        let tail = text.last_chunk::<8>().copied().unwrap_or_default();
        return !crate::model::secret::word_has_byte(u64::from_ne_bytes(head), b'@')
            && !crate::model::secret::word_has_byte(u64::from_ne_bytes(tail), b'@');
    }
    !crate::model::secret::has_byte(text, b'@')
}

/// The shortest string [`scrub_url`] looks into: `a://b:c@d`.
const URL_WITH_PASSWORD_MIN: usize = "a://b:c@d".len();

/// Replaces the password of a URL in a string value (see [`crate::secret`]): a string long
/// enough to hold one, with an `@` in it, is looked at; others cost a word-wise scan.
#[inline]
fn scrub_url(s: &mut StringValue) {
    let text = s.as_str();
    if text.len() >= URL_WITH_PASSWORD_MIN
        && crate::model::secret::has_byte(text.as_bytes(), b'@')
        && let Some(scrubbed) = crate::model::secret::scrub_url_value(text)
    {
        *s = scrubbed.into();
    }
}

/// How many records ahead a pass over a batch asks for: a record was written by the thread
/// that ended it, so reading it elsewhere first waits for its cache lines to cross cores.
/// Measured with the OTLP encoder on the batch worker (`throughput cpu traced-otlp`, five runs
/// each): 61–64 ns of worker CPU per exported span with the prefetch, 73–83 without.
const PREFETCH_AHEAD: usize = 2;

/// The part of a record [`prefetch`] asks for: its header and first four attributes, what
/// most spans use (a whole record, 496 bytes, would take three more hints per span). The
/// thread that takes the box back asks for the same lines, for writing: those are the ones
/// the worker may have read.
pub(crate) const PREFETCH_BYTES: usize = 320;

const _: () = assert!(PREFETCH_BYTES <= size_of::<Record>());
// The header and four attributes are the first `PREFETCH_BYTES` (`Record` is `repr(C)`, the
// attributes last).
const _: () = assert!(
    std::mem::offset_of!(Record, attrs) + 4 * size_of::<Attr>() <= PREFETCH_BYTES
        && std::mem::offset_of!(Record, attrs) + 5 * size_of::<Attr>() > PREFETCH_BYTES
);

/// Asks the CPU to start loading a record's first cache lines (a hint; nothing on other
/// targets).
#[inline(always)]
pub(crate) fn prefetch(slot: &Slot) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let at = std::ptr::from_ref::<MaybeUninit<Record>>(slot).cast::<i8>();
        let mut line = 0;
        while line < PREFETCH_BYTES {
            // SAFETY: a prefetch never faults, and every address is inside the box.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(at.add(line)) };
            line += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = slot;
}

/// A record's box, reused: empty in a thread's pool, initialized while a span owns it or a
/// batch carries it.
pub(crate) type Slot = Box<MaybeUninit<Record>>;

/// Finished spans handed to a [`SpanProcessor`](crate::pipeline::SpanProcessor) together: the spans
/// one thread ended, in the order they ended.
///
/// Spans arrive in their compact running form; [`drain`](SpanBatch::drain) turns each into
/// the [`SpanData`] exporters take. A processor that keeps spans for later (a queue) should
/// do that conversion on its own thread, as the batch processor does, so the thread that
/// ended them pays nothing for it. What a processor leaves in the batch is dropped.
///
/// ```
/// use std::time::Duration;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use traced_runtime::export::{ExportError, SpanBatch};
/// use traced_runtime::pipeline::{Pipeline, SpanProcessor};
///
/// #[derive(Debug, Default)]
/// struct Errors(AtomicUsize);
///
/// impl SpanProcessor for Errors {
///     fn on_end(&self, spans: &mut SpanBatch) {
///         let errors = spans.drain().filter(|s| s.status.is_error()).count();
///         self.0.fetch_add(errors, Ordering::Relaxed);
///     }
///     fn force_flush(&self, _: Duration) -> Result<(), ExportError> { Ok(()) }
///     fn shutdown(&self, _: Duration) -> Result<(), ExportError> { Ok(()) }
/// }
///
/// let guard = Pipeline::builder().with_processor(Errors::default()).install();
/// let mut span = traced_runtime::span("charge").start();
/// span.set_status(traced_runtime::Status::error("declined"));
/// span.end();
/// drop(guard);
/// ```
///
/// A batch can also be made from [`SpanData`] (`SpanBatch::from(vec)`): to test a processor,
/// or to hand the same spans to several.
#[derive(Default)]
pub struct SpanBatch {
    /// `slots[..full]` hold records; the rest are empty boxes kept for reuse.
    slots: Vec<Slot>,
    full: usize,
    /// Spans given as `SpanData`, after the records.
    data: Vec<SpanData>,
    /// Spans the handing thread shed at their start since its last batch (counted as
    /// received and dropped by the batch processor).
    pub(crate) shed: usize,
    /// Set by the batch processor when its queue refused spans of this batch: the handing
    /// thread then sheds its next spans.
    pub(crate) refused: bool,
    /// Set by the handing thread: the empty boxes it can keep (the room in its pool). The
    /// batch processor leaves that many in the batch, as far as it has them, so that a
    /// thread whose pool ran short refills it; `None`: one per record handed over.
    pub(crate) keeps: Option<usize>,
    /// A record in `slots[..full]` may free something when dropped: [`clear`](Self::clear)
    /// must look at each. Set as records join (the thread that ends a span knows, its record
    /// in its cache) and when a reader may change them ([`records_unscrubbed`]); when it is
    /// not set, a batch is cleared without a look at its records. A batch processor's worker
    /// that read even one cache line of each record to decide made the thread that writes
    /// the next spans into the same boxes wait for that line to come back from the worker's
    /// core: `instr child-batch` (5 M calls into a batch processor whose exporter counts and
    /// clears) took 0.72–0.76 s with the look and 0.22 s without, on a 2-core VM.
    ///
    /// [`records_unscrubbed`]: Self::records_unscrubbed
    ///
    /// Atomic only so that each record a reader borrows ([`Unscrubbed`]) can set it when it
    /// is scrubbed; every other access has the batch `&mut`.
    owning: AtomicBool,
}

impl From<Vec<SpanData>> for SpanBatch {
    fn from(data: Vec<SpanData>) -> Self {
        SpanBatch {
            slots: Vec::new(),
            full: 0,
            data,
            shed: 0,
            refused: false,
            keeps: None,
            owning: AtomicBool::new(false),
        }
    }
}

impl fmt::Debug for SpanBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanBatch")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl SpanBatch {
    /// An empty batch.
    pub const fn new() -> Self {
        SpanBatch {
            slots: Vec::new(),
            full: 0,
            data: Vec::new(),
            shed: 0,
            refused: false,
            keeps: None,
            owning: AtomicBool::new(false),
        }
    }

    /// Spans in the batch.
    #[inline]
    pub fn len(&self) -> usize {
        self.full + self.data.len()
    }

    /// Whether the batch holds no span.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the spans out as exporters' [`SpanData`], in the order they ended. Spans the
    /// iterator does not reach are dropped with it.
    pub fn drain(&mut self) -> BatchDrain<'_> {
        // The batch forgets its records first: a `Drain` that is leaked leaks them, and none
        // can be dropped twice.
        let end = std::mem::take(&mut self.full);
        // Each record is taken or dropped by the `BatchDrain`.
        *self.owning.get_mut() = false;
        let data = std::mem::take(&mut self.data).into_iter();
        BatchDrain {
            batch: self,
            next: 0,
            end,
            data,
        }
    }

    /// All the spans as [`SpanData`]; the batch is left empty.
    pub fn to_vec(&mut self) -> Vec<SpanData> {
        if self.full == 0 {
            return std::mem::take(&mut self.data);
        }
        let mut out = Vec::new();
        self.drain_into(&mut out);
        out
    }

    /// Appends the spans to `out` as [`SpanData`], built in place; the batch is left empty.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<SpanData>) {
        out.reserve(self.len());
        let full = std::mem::take(&mut self.full);
        *self.owning.get_mut() = false;
        for slot in &mut self.slots[..full] {
            // SAFETY: `slots[..full]` held records, each read once; `full` is already 0. The
            // `SpanData` is written straight into reserved room, which `set_len` then covers.
            unsafe {
                let record = slot.assume_init_read();
                let len = out.len();
                out.as_mut_ptr().add(len).write(record.into_span_data());
                out.set_len(len + 1);
            }
        }
        out.append(&mut self.data);
    }

    /// The records, in order, each borrowed in place once scrubbed ([`Record::scrub`]: the
    /// batch is `&mut` for that); the spans given as `SpanData` are in
    /// [`data`](SpanBatch::data), after them. (The encoder reads them through
    /// [`records_unscrubbed`](SpanBatch::records_unscrubbed), which scrubs only where needed.)
    #[cfg(test)]
    pub(crate) fn records(&mut self) -> impl Iterator<Item = &Record> {
        self.records_unscrubbed().map(Unscrubbed::scrubbed)
    }

    /// The records, in order, each borrowed in place as it is, not yet scrubbed: for a
    /// reader that scrubs only the records that need it ([`Unscrubbed`]). The spans given
    /// as `SpanData` are in [`data`](SpanBatch::data), after them.
    pub(crate) fn records_unscrubbed(&mut self) -> impl Iterator<Item = Unscrubbed<'_>> {
        let n = self.full;
        // Every access below goes through `base`: record `i` once, mutably; the box pointer
        // of record `i + PREFETCH_AHEAD` read. No two overlap.
        let base = self.slots.as_mut_ptr();
        let owning = &self.owning;
        (0..n).map(move |i| {
            if i + PREFETCH_AHEAD < n {
                // SAFETY: `i + PREFETCH_AHEAD < full <= len`: an element of `slots`.
                prefetch(unsafe { &*base.add(i + PREFETCH_AHEAD) });
            }
            // SAFETY: `i < full`: `slots[i]` holds a record, visited once, and the batch is
            // borrowed mutably for as long as the iterator and what it yields live.
            Unscrubbed(unsafe { (*base.add(i)).assume_init_mut() }, owning)
        })
    }

    /// The instrumentation scope of each span, in order (records, then spans given as
    /// `SpanData`): what needs no scrubbing.
    pub(crate) fn scopes(&self) -> impl Iterator<Item = &'static InstrumentationScope> {
        let records = self.slots[..self.full].iter().map(|slot| {
            // SAFETY: `slots[..full]` hold records.
            unsafe { slot.assume_init_ref() }.scope
        });
        records.chain(self.data.iter().map(|d| d.scope))
    }

    /// The spans given as `SpanData`, after the records.
    pub(crate) fn data(&self) -> &[SpanData] {
        &self.data
    }

    /// Moves every span of `other` to the end of this batch (records before spans given as
    /// `SpanData`, each in order); `other` keeps its empty boxes.
    pub(crate) fn append(&mut self, other: &mut SpanBatch) {
        debug_assert!(
            self.full == self.slots.len(),
            "a batch being filled holds no spare box"
        );
        let full = std::mem::take(&mut other.full);
        self.slots.extend(other.slots.drain(..full));
        self.full = self.slots.len();
        *self.owning.get_mut() |= std::mem::take(other.owning.get_mut());
        self.data.append(&mut other.data);
    }

    /// Takes up to `n` empty boxes from `from`, to keep for reuse, as far as the batch has
    /// room: it never grows for them (the batch processor gives them back on the thread that
    /// ends spans).
    pub(crate) fn take_spare(&mut self, from: &mut Vec<Slot>, n: usize) {
        let n = n
            .min(from.len())
            .min(self.slots.capacity() - self.slots.len());
        self.slots.extend(from.drain(from.len() - n..));
    }

    /// Drops every span.
    pub fn clear(&mut self) {
        self.data.clear();
        let full = std::mem::take(&mut self.full);
        if !std::mem::take(self.owning.get_mut()) {
            // No record here frees anything: forgotten, their boxes untouched.
            return;
        }
        for slot in &mut self.slots[..full] {
            // SAFETY: `slots[..full]` held records; `full` is already 0, so none is dropped
            // twice even if a drop panics. A record that frees nothing is forgotten instead
            // (its box stays, uninitialized as far as the batch knows).
            unsafe {
                if !slot.assume_init_ref().frees_nothing() {
                    slot.assume_init_drop();
                }
            }
        }
    }

    /// A finished record joins the batch. Returns the batch's length.
    #[inline]
    pub(crate) fn push(&mut self, slot: Slot) -> usize {
        debug_assert!(
            self.full == self.slots.len() && self.data.is_empty(),
            "a batch being filled holds no spare box and no data"
        );
        // SAFETY: what joins a batch is a finished record, initialized (`slots[..full]` are
        // read as records everywhere).
        *self.owning.get_mut() |= !unsafe { slot.assume_init_ref() }.frees_nothing();
        self.slots.push(slot);
        self.full = self.slots.len();
        self.full
    }

    /// A batch of one record.
    pub(crate) fn one(slot: Slot) -> SpanBatch {
        let mut batch = SpanBatch::new();
        batch.push(slot);
        batch
    }

    /// Reserves room for `n` more records.
    #[inline]
    pub(crate) fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
    }

    /// Spans held as records, each in a box.
    pub(crate) fn in_boxes(&self) -> usize {
        self.full
    }

    /// Empty boxes kept for reuse.
    pub(crate) fn spare_boxes(&self) -> usize {
        self.slots.len() - self.full
    }

    /// Takes up to `n` of `from`'s empty boxes, the last first, as far as the batch has room
    /// (it never grows for them); returns how many. The batch processor lends the boxes of
    /// an exported batch so, from where they are.
    pub(crate) fn take_spare_from(&mut self, from: &mut SpanBatch, n: usize) -> usize {
        let n = n
            .min(from.slots.len() - from.full)
            .min(self.slots.capacity() - self.slots.len());
        let at = from.slots.len() - n;
        self.slots.extend(from.slots.drain(at..));
        n
    }

    /// Asks the CPU to load the pointers of the last `n` empty boxes, which the next
    /// [`take_spare_from`](Self::take_spare_from) reads (a hint).
    pub(crate) fn prefetch_spare(&self, n: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let spare = &self.slots[self.full..];
            let from = spare.len().saturating_sub(n);
            for line in spare[from..].chunks(8) {
                // SAFETY: a prefetch never faults; the address is inside the vector.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast::<i8>()) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = n;
    }

    /// Moves up to `n` empty boxes, the last first, to `out`; returns how many.
    pub(crate) fn give_spare(&mut self, out: &mut Vec<Slot>, n: usize) -> usize {
        let n = n.min(self.slots.len() - self.full);
        let at = self.slots.len() - n;
        out.extend(self.slots.drain(at..));
        n
    }

    /// Where the batch keeps its pointers: the same memory as long as the batch is not
    /// swapped for another.
    #[cfg(test)]
    pub(crate) fn memory(&self) -> *const Slot {
        self.slots.as_ptr()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Drops what is left and gives back the empty boxes, leaving an empty batch that keeps
    /// its capacity.
    pub(crate) fn recycle(&mut self) -> std::vec::Drain<'_, Slot> {
        self.clear();
        self.slots.drain(..)
    }

    /// Moves the first `n` spans to the end of `front` (records before spans given as
    /// `SpanData`, as [`append`](Self::append) does): the batch processor queues what fits of
    /// a batch in one of its own batches, so that neither side allocates.
    pub(crate) fn move_front_into(&mut self, n: usize, front: &mut SpanBatch) {
        debug_assert!(
            front.full == front.slots.len(),
            "a batch being filled holds no spare box"
        );
        let records = n.min(self.full);
        front.slots.extend(self.slots.drain(..records));
        front.full = front.slots.len();
        *front.owning.get_mut() |= *self.owning.get_mut();
        self.full -= records;
        let data = (n - records).min(self.data.len());
        front.data.extend(self.data.drain(..data));
    }

    /// Moves the first `n` records into a new batch (the queue of the batch processor keeps
    /// what fits).
    pub(crate) fn split_off_front(&mut self, n: usize) -> SpanBatch {
        let records = n.min(self.full);
        let rest = self.slots.split_off(records);
        let front = std::mem::replace(&mut self.slots, rest);
        self.full -= records;
        let data = (n - records).min(self.data.len());
        let rest = self.data.split_off(data);
        SpanBatch {
            slots: front,
            full: records,
            data: std::mem::replace(&mut self.data, rest),
            shed: 0,
            refused: false,
            keeps: None,
            owning: AtomicBool::new(*self.owning.get_mut()),
        }
    }
}

impl Drop for SpanBatch {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The spans of a [`SpanBatch`], as [`SpanData`]: see [`SpanBatch::drain`].
#[derive(Debug)]
pub struct BatchDrain<'a> {
    batch: &'a mut SpanBatch,
    next: usize,
    end: usize,
    data: std::vec::IntoIter<SpanData>,
}

impl Iterator for BatchDrain<'_> {
    type Item = SpanData;

    fn next(&mut self) -> Option<SpanData> {
        if self.next >= self.end {
            return self.data.next();
        }
        let slot = &mut self.batch.slots[self.next];
        self.next += 1;
        // SAFETY: `slots[..end]` hold records and `next` passes each once; `Drop` below
        // drops only the ones not taken (`next..end`).
        let record = unsafe { slot.assume_init_read() };
        Some(record.into_span_data())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next + self.data.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for BatchDrain<'_> {}

impl Drop for BatchDrain<'_> {
    fn drop(&mut self) {
        let (from, end) = (self.next, self.end);
        self.next = end;
        for slot in &mut self.batch.slots[from..end] {
            // SAFETY: records not taken by `next`; `next` already passes them, so none is
            // dropped twice even if a drop panics.
            unsafe { slot.assume_init_drop() };
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::ToValue;

    /// A finished, sampled record named `name` with span id `id`.
    pub(crate) fn record(name: &'static str, id: u64) -> Slot {
        let mut slot: Slot = Box::new_uninit();
        // (Miri runs no clock.)
        let now = if cfg!(miri) {
            clock::Instant::ZERO
        } else {
            clock::now()
        };
        slot.write(Record {
            trace_id: TraceId::from_u128(1),
            span_id: SpanId::from_u64(id),
            parent_span_id: SpanId::INVALID,
            start: now,
            end: now,
            name,
            code: None,
            scope: InstrumentationScope::TRACED,
            pipeline: PipelineRef::detached(),
            cold: None,
            flags: TraceFlags::SAMPLED,
            bits: bits::RECORDING | bits::SAMPLED,
            kind: SpanKind::Internal,
            len: 0,
            room: INLINE_ATTRS as u8,
            raw: 0,
            owned: 0,
            settled: 0,
            entered: 0,
            attrs: [const { MaybeUninit::uninit() }; INLINE_ATTRS],
        });
        slot
    }

    /// A batch of `n` records.
    pub(crate) fn batch(n: usize) -> SpanBatch {
        let mut b = SpanBatch::new();
        for i in 0..n {
            b.push(record("s", i as u64 + 1));
        }
        b
    }

    fn rec(slot: &mut Slot) -> &mut Record {
        // SAFETY: made by `record`.
        unsafe { slot.assume_init_mut() }
    }

    #[test]
    fn attributes_keep_their_order_inline_then_cold() {
        let mut slot = record("s", 1);
        let r = rec(&mut slot);
        let keys = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        for (i, key) in keys.into_iter().enumerate() {
            r.push_attribute_with(key, |out| Some(out.write(Value::I64(i as i64))));
        }
        r.set_attribute(KeyValue::new("b", "replaced"));
        r.set_attribute(KeyValue::new(String::from("owned"), true));
        r.set_attribute(KeyValue::new("j", 60));
        assert_eq!(r.len as usize, INLINE_ATTRS);
        let mut batch = SpanBatch::one(slot);
        let data = batch.to_vec().pop().unwrap();
        let got: Vec<&str> = data.attributes.iter().map(|kv| &*kv.key).collect();
        assert_eq!(got, [&keys[..], &["owned"]].concat());
        assert_eq!(data.attribute("b"), Some(&"replaced".to_value()));
        assert_eq!(data.attribute("j"), Some(&Value::I64(60)));
        assert!(batch.is_empty());
    }

    /// One cursor for a run that does not fit: a value not written takes no entry, the run
    /// goes on in the cold part once the room is full, in order, with its marks; a link in
    /// between (through `with_record`) leaves the cursor where it was.
    #[test]
    fn a_cursor_fills_the_room_then_the_cold_part_in_order() {
        let mut slot = record("s", 1);
        let r = rec(&mut slot);
        r.push_attribute_with("first", |out| Some(out.write(Value::I64(0))));
        let long = "x".repeat(40);
        let mut cursor = AttrCursor::new(r);
        for i in 1..INLINE_ATTRS + 2 {
            let key = ["a", "b", "c", "d", "e", "f", "g", "h", "i"][i - 1];
            if i == 3 {
                cursor.push("none", true, false, |_| None);
                cursor.with_record(|r| r.add_link(Link::new(SpanContext::NONE, Vec::new())));
            }
            let (scrub, may_own) = (i % 2 == 0, i == 5);
            if i == 3 {
                // A short string, copied in place as the expansion's writes do.
                cursor.push(key, scrub, may_own, |out| {
                    Some("short text".__write_value(out))
                });
                continue;
            }
            let value = if i == 5 {
                long.to_value()
            } else {
                Value::I64(i as i64)
            };
            cursor.push(key, scrub, may_own, |out| Some(out.write(value)));
        }
        assert_eq!(r.len as usize, INLINE_ATTRS);
        assert_eq!(r.room as usize, INLINE_ATTRS);
        assert_eq!(r.owned, 1 << 5);
        // Final (not marked to scrub): "first" and the odd ones.
        assert_eq!((r.raw, r.settled), (0b1010_1011, 0b1010_1011));
        // (Read from the record itself, with no clock: this test runs under Miri.)
        let inline: Vec<&str> = r.inline().iter().map(|a| a.key).collect();
        assert_eq!(inline, ["first", "a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(r.inline()[3].value, "short text".to_value());
        assert_eq!(r.inline()[5].value, long.to_value());
        let cold = r.cold.as_ref().unwrap();
        let keys: Vec<&str> = cold.attributes.iter().map(|kv| &*kv.key).collect();
        assert_eq!(keys, ["h", "i"]);
        assert_eq!(cold.attributes[1].value, Value::I64(9));
        assert_eq!(cold.links.len(), 1);
        // SAFETY: made by `record`; dropped once.
        unsafe { slot.assume_init_drop() };
    }

    /// A value marked for scrubbing is scrubbed, then cut, where it is read for export; one
    /// set over it is not; a value past the inline ones is scrubbed at once.
    #[test]
    fn marked_values_are_scrubbed_when_read() {
        const URL: &str = "postgres://app:hunter2@db:5432/orders";
        const SCRUBBED: &str = "postgres://app:[REDACTED]@db:5432/orders";
        let mut slot = record("s", 1);
        let r = rec(&mut slot);
        for key in ["a", "b", "c", "d", "e", "f", "g", "h", "i"] {
            r.push_attribute_marked(key, true, |out| Some(out.write(URL.to_value())));
        }
        r.push_attribute_marked("n", true, |out| Some(out.write(Value::I64(7))));
        r.set_attribute(KeyValue::new("b", "set by hand"));
        assert_eq!(r.raw, 0b0000_0010);
        assert_eq!(
            r.cold.as_ref().unwrap().attributes[0].value,
            SCRUBBED.to_value()
        );
        let mut batch = SpanBatch::one(slot);
        let view = batch.records().next().unwrap();
        assert_eq!(view.raw, 0b1111_1111);
        assert_eq!(view.inline()[0].value, SCRUBBED.to_value());
        let data = batch.to_vec().pop().unwrap();
        assert_eq!(data.attribute("a"), Some(&SCRUBBED.to_value()));
        assert_eq!(data.attribute("b"), Some(&"set by hand".to_value()));
        assert_eq!(data.attribute("h"), Some(&SCRUBBED.to_value()));
        assert_eq!(data.attribute("n"), Some(&Value::I64(7)));
    }

    proptest::proptest! {
        /// Whatever `scrub_keeps_str` passes, the scrub leaves as it is: what lets the OTLP
        /// encoder read a record unscrubbed.
        #[test]
        fn what_scrub_keeps_str_passes_the_scrub_leaves_alone(
            text in "[a-z@:/]{0,6}(|a://b:c@d|postgres://app:hunter2@db/x|user@host)[a-zé@]{0,30}",
            max in proptest::option::of(0..40_u32),
        ) {
            let mut value = StringValue::from(text.as_str());
            scrub_string(&mut value, max);
            if scrub_keeps_str(text.as_bytes(), max) {
                proptest::prop_assert_eq!(value.as_str(), text.as_str());
            }
            proptest::prop_assert!(!value.as_str().contains("hunter2"));
        }
    }

    #[test]
    fn a_value_that_is_not_written_is_not_recorded() {
        let mut slot = record("s", 1);
        let r = rec(&mut slot);
        r.push_attribute_with("none", |_| None);
        r.push_attribute_with("x", |out| Some(out.write(Value::Bool(true))));
        assert_eq!(r.len, 1);
        let data = SpanBatch::one(slot).to_vec().pop().unwrap();
        assert_eq!(data.attributes.len(), 1);
    }

    /// The drop of a record looks only at the values that may own memory: those written so
    /// (as far as the writer knew), those replaced by one that does, and, once scrubbed, all
    /// that were written to be scrubbed.
    #[test]
    fn only_values_that_may_own_memory_are_looked_at_when_dropped() {
        let mut slot = record("s", 1);
        let r = rec(&mut slot);
        let long = "x".repeat(40);
        r.push_attribute_told("n", true, false, |out| Some(out.write(Value::I64(1))));
        r.push_attribute_told("short", true, false, |out| {
            Some(out.write("short".to_value()))
        });
        r.push_attribute_told("long", true, true, |out| Some(out.write(long.to_value())));
        // Told it may, written a number: looked at, and found to own nothing.
        r.push_attribute_told("m", false, true, |out| Some(out.write(Value::I64(2))));
        assert_eq!((r.owned, r.raw, r.settled), (0b0100, 0b1000, 0b1000));
        r.set_attribute(KeyValue::new("short", long.as_str()));
        assert_eq!((r.owned, r.raw, r.settled), (0b0110, 0b1010, 0b1010));
        r.scrub();
        assert_eq!(r.owned | (r.raw & !r.settled), 0b0111);
        let data = SpanBatch::one(slot).to_vec().pop().unwrap();
        assert_eq!(data.attribute("short"), Some(&long.to_value()));
        assert_eq!(data.attribute("long"), Some(&long.to_value()));
    }

    #[test]
    fn a_batch_looks_at_its_records_when_it_is_cleared_only_if_one_may_free_something() {
        let plain = |id| {
            let mut slot = record("s", id);
            rec(&mut slot).push_attribute_with("n", |out| Some(out.write(Value::I64(1))));
            slot
        };
        let owning = |id| {
            let mut slot = record("s", id);
            let long = "x".repeat(100);
            rec(&mut slot).push_attribute_with("long", |out| Some(out.write(long.to_value())));
            slot
        };
        let mut b = SpanBatch::new();
        b.push(plain(1));
        b.push(plain(2));
        assert!(!*b.owning.get_mut(), "numbers free nothing");
        b.push(owning(3));
        assert!(*b.owning.get_mut(), "a string on the heap must be freed");
        b.clear();
        assert!(!*b.owning.get_mut());

        // Moving records keeps the mark with them.
        let mut from = SpanBatch::new();
        from.push(owning(4));
        let mut to = SpanBatch::new();
        to.push(plain(5));
        to.append(&mut from);
        assert!(*to.owning.get_mut());
        let mut front = SpanBatch::new();
        to.move_front_into(1, &mut front);
        assert!(
            *front.owning.get_mut() && *to.owning.get_mut(),
            "either part may hold the owning record"
        );
        assert!(to.split_off_front(1).owning.load(Ordering::Relaxed));

        // Read as it is, a record stays as it was; scrubbed, a value may move to the heap.
        let mut read = SpanBatch::new();
        read.push(plain(6));
        let mut url = record("s", 7);
        rec(&mut url).push_attribute_marked("db", true, |out| {
            Some(out.write("postgres://app:pw@db/x".to_value()))
        });
        read.push(url);
        assert!(!*read.owning.get_mut(), "a short string is inline");
        let _ = read.records_unscrubbed().count();
        assert!(!*read.owning.get_mut());
        let _ = read.records_unscrubbed().map(Unscrubbed::scrubbed).count();
        assert!(*read.owning.get_mut());
        assert!(SpanBatch::one(owning(8)).owning.load(Ordering::Relaxed));
    }

    #[test]
    fn a_partly_drained_batch_drops_the_rest_once() {
        // Strings on the heap: a double drop or a leak would show under Miri / sanitizers,
        // and the counts must hold here.
        let mut b = SpanBatch::new();
        for i in 0..10 {
            let mut slot = record("s", i + 1);
            let long = "x".repeat(100);
            rec(&mut slot).push_attribute_with("long", |out| Some(out.write(long.to_value())));
            b.push(slot);
        }
        let first: Vec<SpanData> = b.drain().take(3).collect();
        assert_eq!(first.len(), 3);
        assert!(b.is_empty());
        assert_eq!(b.spare_boxes(), 10);
        let mut front = batch(5);
        let rest = front.split_off_front(2);
        assert_eq!((rest.len(), front.len()), (2, 3));
        assert_eq!(b.recycle().count(), 10);
    }
}

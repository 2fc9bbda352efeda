// Activation buffers of a forward pass, one set per thread, kept between calls. A long prompt's
// FFN activations are tens of MB: a fresh std::vector per layer was zeroed and, past malloc's mmap
// threshold, faulted in page by page every time — a fifth of the time of a 2048-token prefill.
// Contents are undefined on return: every user writes a buffer before reading it. Each slot is
// one buffer, so a function must not hand out a slot its caller is still using.
#pragma once
#include <cstddef>

namespace citadel {

enum class Scratch { X, XN, XN2, Branch, Branch2, Q, K, V, QKV, Attn, Gate, Up, Count };

// At least n floats for this slot on this thread (grown, never shrunk; valid until the next call
// for the same slot on the same thread).
float* scratch(Scratch slot, size_t n);

}  // namespace citadel

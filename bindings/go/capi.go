package apollo

// Raw layer: the cgo declarations and the C-side trampolines.  Everything
// above this file goes through the few helpers here.

/*
#cgo pkg-config: apollo
#include <apollo.h>
#include <stdint.h>
#include <stdlib.h>

// Defined in callbacks.go (//export); user_data carries a runtime/cgo.Handle.
extern int32_t goApolloOnText(char *text, size_t len, uintptr_t h);
extern int32_t goApolloAbort(uintptr_t h);
extern void goApolloLog(int32_t level, char *msg, uintptr_t h);
extern void goApolloProgress(int32_t i_clip, int32_t n_clips, uintptr_t h);

static int32_t apollo_go_text(const char *text, size_t len, void *ud) {
	return goApolloOnText((char *)text, len, (uintptr_t)ud);
}
static int32_t apollo_go_abort(void *ud) {
	return goApolloAbort((uintptr_t)ud);
}
static void apollo_go_log(int32_t level, const char *msg, void *ud) {
	goApolloLog(level, (char *)msg, (uintptr_t)ud);
}
static void apollo_go_progress(int32_t i, int32_t n, void *ud) {
	goApolloProgress(i, n, (uintptr_t)ud);
}
static void apollo_go_set_encode(apollo_encode_params *p, uintptr_t h) {
	p->progress_fn = apollo_go_progress;
	p->progress_user_data = (void *)h;
	p->abort_fn = apollo_go_abort;
	p->abort_user_data = (void *)h;
}
static void apollo_go_set_log(apollo_ctx_params *p, uintptr_t h) {
	p->log_fn = apollo_go_log;
	p->log_user_data = (void *)h;
}
static void apollo_go_set_text(apollo_generate_params *p, uintptr_t h) {
	p->on_text = apollo_go_text;
	p->on_text_user_data = (void *)h;
}
static void apollo_go_set_abort(apollo_generate_params *p, uintptr_t h) {
	p->abort_fn = apollo_go_abort;
	p->abort_user_data = (void *)h;
}
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Versions of the header these bindings were written for.
const (
	BindingVersionMajor  = 0
	BindingVersionMinor  = 1
	BindingVersionPatch  = 0
	BindingVersionNumber = BindingVersionMajor*10000 + BindingVersionMinor*100 + BindingVersionPatch
)

// Header/library mismatch guard: cgo compiled against this apollo.h.
var _ = [1]struct{}{}[C.APOLLO_VERSION_NUMBER-BindingVersionNumber]

// lastError builds an error from the calling OS thread's last message.  The
// caller must have called runtime.LockOSThread before the failing call (the
// message is thread-local and goroutines migrate between cgo calls).
func lastError(rc C.int) error {
	return newError(int(rc), C.GoString(C.apollo_last_errmsg()))
}

// call runs f on a locked OS thread and turns a negative status into an
// error carrying apollo_last_errmsg().
func call(f func() C.int) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc < 0 {
		return int(rc), lastError(rc)
	}
	return int(rc), nil
}

func cStrings(ss []string) (**C.char, func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	arr := (**C.char)(C.malloc(C.size_t(len(ss)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	view := unsafe.Slice(arr, len(ss))
	for i, s := range ss {
		view[i] = C.CString(s)
	}
	return arr, func() {
		for i := range view {
			C.free(unsafe.Pointer(view[i]))
		}
		C.free(unsafe.Pointer(arr))
	}
}

func setLogCallback(p *C.apollo_ctx_params, h cgo.Handle) {
	C.apollo_go_set_log(p, C.uintptr_t(h))
}

func setTextCallback(p *C.apollo_generate_params, h cgo.Handle) {
	C.apollo_go_set_text(p, C.uintptr_t(h))
}

func setAbortCallback(p *C.apollo_generate_params, h cgo.Handle) {
	C.apollo_go_set_abort(p, C.uintptr_t(h))
}

func setEncodeCallbacks(p *C.apollo_encode_params, h cgo.Handle) {
	C.apollo_go_set_encode(p, C.uintptr_t(h))
}

package apollo

/*
#include <stddef.h>
#include <stdint.h>
*/
import "C"

import "runtime/cgo"

// callState is one Ask call's Go side, reached from C through a cgo.Handle
// (C never keeps a Go pointer).
type callState struct {
	onText   func(string) bool
	abort    func() bool
	progress func(iClip, nClips int)
	panicV   interface{}
	panicky  bool
}

func (st *callState) guard(f func() bool) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			st.panicV, st.panicky, ok = r, true, false
		}
	}()
	return f()
}

//export goApolloOnText
func goApolloOnText(text *C.char, n C.size_t, h C.uintptr_t) C.int32_t {
	st := cgo.Handle(h).Value().(*callState)
	if st.panicky || st.onText == nil {
		return 1
	}
	chunk := C.GoStringN(text, C.int(n))
	if !st.guard(func() bool { return st.onText(chunk) }) {
		return 1
	}
	return 0
}

//export goApolloAbort
func goApolloAbort(h C.uintptr_t) C.int32_t {
	st := cgo.Handle(h).Value().(*callState)
	if st.panicky {
		return 1
	}
	stop := false
	if st.abort != nil {
		st.guard(func() bool { stop = st.abort(); return true })
	}
	if stop || st.panicky {
		return 1
	}
	return 0
}

//export goApolloLog
func goApolloLog(level C.int32_t, msg *C.char, h C.uintptr_t) {
	f, ok := cgo.Handle(h).Value().(func(LogLevel, string))
	if !ok || f == nil {
		return
	}
	text := C.GoString(msg)
	defer func() { _ = recover() }() // a panic must not cross into C
	f(LogLevel(level), text)
}

//export goApolloProgress
func goApolloProgress(i, n C.int32_t, h C.uintptr_t) {
	st := cgo.Handle(h).Value().(*callState)
	if st.panicky || st.progress == nil {
		return
	}
	st.guard(func() bool { st.progress(int(i), int(n)); return true })
}

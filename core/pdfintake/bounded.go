package pdfintake

import (
	"context"
	"os/exec"
	"strconv"
	"time"
)

// Bounds are the resources one run of a PDF tool (poppler's pdftoppm or
// pdftotext) may take: a PDF that inflates a page to gigabytes, or makes it
// cost minutes, must not take the machine with it.
type Bounds struct {
	CPU    time.Duration // CPU time, whole seconds (at least one)
	Memory int64         // address space, bytes
}

// boundedScript sets the limits in a shell that then becomes the tool:
// the limits are the child's alone, and nothing but a POSIX shell is needed.
const boundedScript = `ulimit -c 0 && ulimit -t "$1" && ulimit -v "$2" && shift 2 && exec "$@"`

// BoundedCommand is exec.CommandContext for a PDF tool under b (no core
// dumps either). The caller bounds its wall time with ctx.
func BoundedCommand(ctx context.Context, b Bounds, name string, args ...string) *exec.Cmd {
	cpu := max(1, int(b.CPU/time.Second))
	shArgs := append([]string{"-c", boundedScript, "sh", strconv.Itoa(cpu), strconv.FormatInt(b.Memory>>10, 10), name}, args...)
	return exec.CommandContext(ctx, "/bin/sh", shArgs...)
}

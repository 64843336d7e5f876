package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreIsTheOnlyDoor keeps the architecture's first rule: core depends on
// no front end, store or job runner, and no front end reaches the database
// but through core's use cases. That no front end calls a store through
// the Service the compiler enforces: the stores are unexported fields of
// core's use-case types, which no package outside core can name. What the
// compiler cannot see is an import, so this test lists them.
func TestCoreIsTheOnlyDoor(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	list := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	forbidden := []string{"edobot/storage", "edobot/jobs", "edobot/bot", "edobot/cmd"}
	for _, dep := range list("-deps", "edobot/core/...") {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("core depends on %s", dep)
			}
		}
	}
	// Imports, unlike TestImports, are those of the non-test files.
	for _, line := range list("-f", `{{.ImportPath}}:{{join .Imports " "}}`, "edobot/bot/...") {
		pkg, imports, _ := strings.Cut(line, ":")
		for _, imp := range strings.Fields(imports) {
			if imp == "edobot/storage" || strings.HasPrefix(imp, "edobot/storage/") || imp == "edobot/jobs" || strings.HasPrefix(imp, "edobot/jobs/") {
				t.Errorf("%s imports %s: a front end reaches data through core's use cases", pkg, imp)
			}
		}
	}
}

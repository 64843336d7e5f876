package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// listedPackage is the part of `go list -json` the layer tests read.
type listedPackage struct {
	ImportPath string
	DepOnly    bool     // listed only as a dependency of the patterns' packages
	Imports    []string // direct imports of the non-test files
	Deps       []string // every package those reach, transitively
}

// goList runs `go list -deps -json` over patterns and decodes its stream:
// the patterns' packages and every package they depend on.
func goList(t *testing.T, patterns ...string) []listedPackage {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json"}, patterns...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", patterns, err, stderr.String())
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list %v: %v", patterns, err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v listed no package", patterns)
	}
	return pkgs
}

// within reports whether path is the package root or one below it.
func within(path, root string) bool {
	return path == root || strings.HasPrefix(path, root+"/")
}

// checkLayer fails for every package the patterns name (not their
// dependencies) that reaches, directly or through others, a package within
// one of the forbidden roots, and names the imports that lead there.
func checkLayer(t *testing.T, pkgs []listedPackage, forbidden ...string) {
	t.Helper()
	byPath := make(map[string]listedPackage, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for _, p := range pkgs {
		if p.DepOnly {
			continue
		}
		for _, dep := range p.Deps {
			if !slices.ContainsFunc(forbidden, func(root string) bool { return within(dep, root) }) {
				continue
			}
			var via []string
			for _, imp := range p.Imports {
				if imp == dep || slices.Contains(byPath[imp].Deps, dep) {
					via = append(via, imp)
				}
			}
			t.Errorf("%s depends on %s, imported through %s", p.ImportPath, dep, strings.Join(via, ", "))
		}
	}
}

// The core knows nothing of the layers around it: no package of core, test
// helpers included, builds on storage, jobs or a front end.
func TestCoreReachesNoOuterLayer(t *testing.T) {
	checkLayer(t, goList(t, "edobot/core/..."), "edobot/storage", "edobot/jobs", "edobot/bot")
}

// The front ends reach the database only through core's use cases: no
// package under bot/ (their tests aside) builds on storage or the jobs.
// That no front end calls a store is the compiler's to keep: core's stores
// are unexported fields of its use cases.
func TestFrontEndsReachNoStorage(t *testing.T) {
	checkLayer(t, goList(t, "edobot/bot/..."), "edobot/storage", "edobot/jobs")
}

// The wiring hands the database to core (core.Deps) and never to a front
// end: no Config of a package under bot/ is given the *storage.DB, named
// db in the wiring, as a field's value. The lease (storage.Lease) is the
// session's plumbing and may go.
func TestFrontEndsGetNoDatabase(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		bots := map[string]bool{} // the file's names of packages under bot/
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if !within(path, "edobot/bot") {
				continue
			}
			local := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			bots[local] = true
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			sel, ok := lit.Type.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Config" {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || !bots[pkg.Name] {
				return true
			}
			checked++
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if v, ok := kv.Value.(*ast.Ident); ok && v.Name == "db" {
					t.Errorf("%s: %s.Config's %s is given the database; a front end reaches it through core", fset.Position(kv.Pos()), sel.X, kv.Key)
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no Config of a front end found in the wiring")
	}
}

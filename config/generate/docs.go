package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
)

// docs are the doc comments of the config package's struct fields, by type and Go field name,
// each as one line of text.
type docs map[string]map[string]string

// fieldDocs parses the config package's sources. A field without a comment of its own takes
// the comment of the group it follows when that comment names it ("TargetCPUUtilization and
// TargetMemoryUtilization are the HPA's targets").
func fieldDocs(dir string) (docs, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	out := docs{}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, s := range gen.Specs {
				spec := s.(*ast.TypeSpec)
				if st, ok := spec.Type.(*ast.StructType); ok {
					out[spec.Name.Name] = structDocs(st)
					continue
				}
				// A type without fields (a map setting) is documented by its own comment.
				doc := spec.Doc
				if doc == nil && len(gen.Specs) == 1 {
					doc = gen.Doc
				}
				if text := commentText(doc); text != "" {
					out[spec.Name.Name] = map[string]string{"": text}
				}
			}
		}
	}
	return out, nil
}

// typeDoc is the documentation of a type without fields, as a map setting's row shows it: its
// doc comment without the type's name it opens with ("Selectors: an entry ..." reads "an entry ...").
func (d docs) typeDoc(typeName string) (string, error) {
	text, ok := d[typeName][""]
	if !ok {
		return "", fmt.Errorf("%w: %s", errUndocumented, typeName)
	}
	if m := subject.FindStringSubmatch(text); m != nil && m[1] == typeName {
		return text[len(m[0]):], nil
	}
	return text, nil
}

func structDocs(st *ast.StructType) map[string]string {
	fields := map[string]string{}
	group := ""
	for _, f := range st.Fields.List {
		text := commentText(f.Doc)
		if text == "" {
			text = commentText(f.Comment)
		}
		if text != "" {
			group = text
		}
		for _, name := range f.Names {
			switch {
			case text != "":
				fields[name.Name] = text
			case regexp.MustCompile(`\b` + name.Name + `\b`).MatchString(group):
				fields[name.Name] = group
			}
		}
	}
	return fields
}

func commentText(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

// describe is a field's documentation as the settings page shows it: the comment without the
// Go names it opens with ("MaxConnections is max_connections" reads "max_connections", "A and B
// are the targets" reads "the targets").
func (d docs) describe(typeName, field string) (string, error) {
	text, ok := d[typeName][field]
	if !ok {
		return "", fmt.Errorf("%w: %s.%s", errUndocumented, typeName, field)
	}
	if m := subject.FindStringSubmatch(text); m != nil && regexp.MustCompile(`\b`+field+`\b`).MatchString(m[1]) {
		return text[len(m[0]):], nil
	}
	return text, nil
}

// subject is the Go names a field's comment opens with, and the verb or colon after them.
var subject = regexp.MustCompile(`^([A-Z][A-Za-z0-9]*(?:,? (?:and )?[A-Z][A-Za-z0-9]*)*)(?: is | are |: | )`)

package tests

// The documentation: README.md is a front door of at most 300 lines and every file under docs/ is
// reachable from it by links; every relative link of README.md and docs/ resolves to a file of
// the repository, and its #anchor to a heading of that file (GitHub's rule); every table has as
// many cells in each row as in its header, so it renders.

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeMaxLines is the most README.md may hold: the rest is in docs/.
const readmeMaxLines = 300

func TestDocsReadmeIsAFrontDoor(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	lines := strings.Count(string(b), "\n")
	if !strings.HasSuffix(string(b), "\n") {
		lines++
	}
	assert.LessOrEqual(t, lines, readmeMaxLines, "README.md has %d lines: move the detail to a page under docs/ and link it", lines)
}

// Every file under docs/ is reachable from README.md through relative links.
func TestDocsEveryPageIsReachableFromTheReadme(t *testing.T) {
	reached := map[string]bool{}
	queue := []string{"README.md"}
	for len(queue) > 0 {
		page := queue[0]
		queue = queue[1:]
		if reached[page] {
			continue
		}
		reached[page] = true
		for _, l := range markdownLinks(t, page) {
			target, _, local := resolveLink(page, l)
			if local && strings.HasSuffix(target, ".md") && !reached[target] {
				if _, err := os.Stat(filepath.Join("..", target)); err == nil {
					queue = append(queue, target)
				}
			}
		}
	}
	files := docFiles(t)
	require.NotEmpty(t, files)
	for _, f := range files {
		assert.True(t, reached[f], "%s is linked from no page that README.md leads to", f)
	}
}

// Every relative link of README.md and the pages under docs/ resolves to a file (or directory)
// of the repository, and a #anchor to a heading of the markdown file it names.
func TestDocsLinksResolve(t *testing.T) {
	for _, page := range append([]string{"README.md"}, docFiles(t)...) {
		if !strings.HasSuffix(page, ".md") {
			continue
		}
		for _, l := range markdownLinks(t, page) {
			target, anchor, local := resolveLink(page, l)
			if !local {
				continue
			}
			if !assert.False(t, strings.HasPrefix(target, "../"), "%s: link %s leaves the repository", page, l) {
				continue
			}
			_, err := os.Stat(filepath.Join("..", target))
			if !assert.NoError(t, err, "%s: link %s names no file of the repository", page, l) || anchor == "" {
				continue
			}
			if !assert.True(t, strings.HasSuffix(target, ".md"), "%s: link %s has an anchor into a file that is not markdown", page, l) {
				continue
			}
			anchors := headingAnchors(t, target)
			assert.Contains(t, anchors, anchor, "%s: link %s: %s has no heading with the anchor #%s", page, l, target, anchor)
		}
	}
}

// Every table of README.md and docs/ has a delimiter row under its header, and as many cells in
// every row as the header has.
func TestDocsTablesRender(t *testing.T) {
	tables := 0
	for _, page := range append([]string{"README.md"}, docFiles(t)...) {
		if !strings.HasSuffix(page, ".md") {
			continue
		}
		var rows []string
		var first int
		check := func() {
			defer func() { rows = nil }()
			if len(rows) == 0 {
				return
			}
			if !assert.GreaterOrEqual(t, len(rows), 2, "%s:%d: a table row without a header and a delimiter row: %s", page, first, rows[0]) {
				return
			}
			header := tableCells(rows[0])
			delimiter := tableCells(rows[1])
			for _, c := range delimiter {
				assert.Regexp(t, `^:?-+:?$`, c, "%s:%d: the table's second row is not its delimiter row: %s", page, first+1, rows[1])
			}
			assert.Len(t, delimiter, len(header), "%s:%d: the delimiter row has %d cells, the header %d", page, first+1, len(delimiter), len(header))
			for i, r := range rows[2:] {
				assert.Len(t, tableCells(r), len(header), "%s:%d: %d cells where the header has %d: %s", page, first+2+i, len(tableCells(r)), len(header), r)
			}
			tables++
		}
		for i, line := range proseLines(t, page) {
			if regexp.MustCompile(`^ {0,3}\|`).MatchString(line) {
				if len(rows) == 0 {
					first = i + 1
				}
				rows = append(rows, line)
				continue
			}
			check()
		}
		check()
	}
	assert.Greater(t, tables, 10, "tables found")
}

// docFiles are the files under docs/, as paths from the repository's root.
func docFiles(t *testing.T) []string {
	var files []string
	require.NoError(t, filepath.WalkDir("../docs", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel("..", p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	}))
	return files
}

// proseLines are the lines of a markdown file (a path from the repository's root), with the
// lines of fenced code blocks blank: what is in them is neither a heading, a table nor a link.
func proseLines(t *testing.T, page string) []string {
	b, err := os.ReadFile(filepath.Join("..", page))
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	fence := ""
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
			lines[i] = ""
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" ") == "" {
				fence = ""
			}
			lines[i] = ""
		}
	}
	return lines
}

var (
	inlineCode   = regexp.MustCompile("`[^`\n]*`")
	inlineLink   = regexp.MustCompile(`\[([^\]]*)\]\(([^()\s]+)\)`)
	atxHeading   = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$`)
	externalLink = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// markdownLinks are the destinations of a page's inline links, outside code.
func markdownLinks(t *testing.T, page string) []string {
	text := inlineCode.ReplaceAllString(strings.Join(proseLines(t, page), "\n"), "")
	var links []string
	for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
		links = append(links, m[2])
	}
	return links
}

// resolveLink is where a link of page goes: a path from the repository's root and an anchor;
// local is false for a link to another site.
func resolveLink(page, link string) (target, anchor string, local bool) {
	if externalLink.MatchString(link) {
		return "", "", false
	}
	file, anchor, _ := strings.Cut(link, "#")
	if file == "" {
		return page, anchor, true
	}
	return path.Clean(path.Join(path.Dir(page), file)), anchor, true
}

// headingAnchors are the anchors GitHub gives a markdown file's headings: the heading's text,
// lower-cased, without punctuation, spaces as hyphens; a repeated one gets -1, -2, ...
func headingAnchors(t *testing.T, page string) []string {
	seen := map[string]int{}
	var anchors []string
	for _, line := range proseLines(t, page) {
		m := atxHeading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := githubSlug(m[1])
		if n := seen[slug]; n > 0 {
			anchors = append(anchors, fmt.Sprintf("%s-%d", slug, n))
		} else {
			anchors = append(anchors, slug)
		}
		seen[slug]++
	}
	return anchors
}

// githubSlug is a heading's anchor as GitHub makes it from the heading's text.
func githubSlug(heading string) string {
	text := inlineLink.ReplaceAllString(heading, "$1")
	text = strings.NewReplacer("`", "", "*", "").Replace(text)
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// tableCells are a table row's cells, split at every pipe that is not escaped (GitHub splits at
// a pipe inside a code span too), without the outer pipes.
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cell.WriteString(`\|`)
			i++
		case row[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(row[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// docCommand is one `irsa policy …` command shown in a document, with the
// output the document claims for it.
type docCommand struct {
	file     string
	line     int
	command  string   // as written, continuation lines joined
	args     []string // the words after "irsa"
	output   string   // shown output, "" when the document shows none
	wantCode int      // from a trailing "# exit status N", else 0
}

var exitComment = regexp.MustCompile(`\s+#\s*exit status (\d+)\s*$`)

// extractCommands finds the commands that start with "irsa policy" in the
// ```console and ```sh blocks of a Markdown document. In console blocks a
// command starts with "$ " and the lines after it, up to the next command or
// the end of the block, are its output; sh blocks show no output. A line
// ending in a backslash continues on the next line.
func extractCommands(file string, doc []byte) ([]docCommand, error) {
	var out []docCommand
	sc := bufio.NewScanner(bytes.NewReader(doc))
	lineNo := 0
	inBlock, console := false, false
	var cur *docCommand
	var outLines []string
	flush := func() {
		if cur == nil {
			return
		}
		for len(outLines) > 0 && strings.TrimSpace(outLines[len(outLines)-1]) == "" {
			outLines = outLines[:len(outLines)-1]
		}
		if len(outLines) > 0 {
			cur.output = strings.Join(outLines, "\n") + "\n"
		}
		out = append(out, *cur)
		cur, outLines = nil, nil
	}
	continuing := false
	var pending []string
	pendingLine := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if !inBlock {
			if strings.HasPrefix(trimmed, "```") {
				lang := strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
				if lang == "console" || lang == "sh" || lang == "shell" || lang == "bash" {
					inBlock, console = true, lang == "console"
				} else if lang != "" || trimmed == "```" {
					// another kind of block: skip to its end
					for sc.Scan() {
						lineNo++
						if strings.HasPrefix(strings.TrimSpace(sc.Text()), "```") {
							break
						}
					}
				}
			}
			continue
		}
		if trimmed == "```" {
			if continuing {
				return nil, fmt.Errorf("%s:%d: command continues past the end of its block", file, lineNo)
			}
			flush()
			inBlock = false
			continue
		}
		isCommand := continuing || !console || strings.HasPrefix(line, "$ ")
		if !isCommand {
			if cur != nil {
				outLines = append(outLines, line)
			}
			continue
		}
		text := line
		if !continuing {
			flush()
			text = strings.TrimPrefix(line, "$ ")
			pendingLine = lineNo
			if !console && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
				continue
			}
		}
		if strings.HasSuffix(text, "\\") {
			pending = append(pending, strings.TrimSuffix(text, "\\"))
			continuing = true
			continue
		}
		pending = append(pending, text)
		continuing = false
		full := strings.Join(pending, " ")
		pending = nil
		c := docCommand{file: file, line: pendingLine, command: strings.TrimSpace(full)}
		if m := exitComment.FindStringSubmatch(full); m != nil {
			c.wantCode, _ = strconv.Atoi(m[1])
			full = full[:len(full)-len(m[0])]
		}
		if f := strings.Fields(full); len(f) < 2 || f[0] != "irsa" || f[1] != "policy" {
			// Not ours to run (make, export, aws…); it may use any shell
			// syntax, and its output is not checked.
			continue
		}
		words, err := splitWords(full)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, pendingLine, err)
		}
		if len(words) < 2 || words[0] != "irsa" || words[1] != "policy" {
			// Not ours to run (make, cat, kubectl…); its output is not checked.
			continue
		}
		c.args = words[1:]
		if console {
			cur = &c
		} else {
			out = append(out, c)
		}
	}
	if inBlock {
		return nil, fmt.Errorf("%s: unterminated code block", file)
	}
	return out, sc.Err()
}

// splitWords splits a command line the way a POSIX shell does for the
// simple commands documents show: whitespace separates words, single quotes
// keep everything, double quotes keep everything but \" \\ \$ escapes, and a
// backslash outside quotes escapes the next character. Anything fancier
// (pipes, variables, globs) is refused rather than guessed.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote in %q", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				} else if s[i] == '$' || s[i] == '`' {
					return nil, fmt.Errorf("shell expansion in %q is not supported in runnable docs", s)
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote in %q", s)
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("trailing backslash in %q", s)
			}
			i++
			w.WriteByte(s[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?[#~", c) >= 0 && !inWord || strings.IndexByte("|&;<>()$`", c) >= 0:
			return nil, fmt.Errorf("shell syntax %q in %q is not supported in runnable docs", c, s)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// TestDocsCommands runs every `irsa policy` command that README.md and
// docs/policy.md show, from the repository root, and checks its exit status
// and, where the document shows output, that output exactly.
func TestDocsCommands(t *testing.T) {
	root := repoRoot(t)
	t.Chdir(root)
	// The least each document must show, so a broken extractor cannot pass
	// by finding nothing.
	minimum := map[string]int{"README.md": 3, "docs/policy.md": 10}
	for file, least := range minimum {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := extractCommands(file, doc)
		if err != nil {
			t.Fatal(err)
		}
		if len(cmds) < least {
			t.Errorf("%s: found %d runnable irsa policy commands, want at least %d", file, len(cmds), least)
		}
		for _, c := range cmds {
			t.Run(fmt.Sprintf("%s:%d", file, c.line), func(t *testing.T) {
				var out bytes.Buffer
				code := Main(context.Background(), Env{Args: c.args, Stdout: &out, Stderr: &out, Version: "dev"})
				if code != c.wantCode {
					t.Errorf("%s\nexit status %d, want %d (mark other statuses with a trailing \"# exit status N\")\noutput:\n%s", c.command, code, c.wantCode, out.String())
				}
				if c.output != "" {
					if diff := cmp.Diff(c.output, out.String()); diff != "" {
						t.Errorf("%s\nthe document shows different output (-doc +actual):\n%s", c.command, diff)
					}
				}
			})
		}
	}
}

func TestExtractCommands(t *testing.T) {
	doc := "# Title\n" +
		"```console\n" +
		"$ irsa policy validate a.json\n" +
		"a.json: OK (identity policy, 1 statement)\n" +
		"\n" +
		"$ irsa policy simulate --policy 'my file.json' \\\n" +
		"    --action s3:GetObject --context \"k=v w\"   # exit status 3\n" +
		"$ make run\n" +
		"ignored output\n" +
		"```\n" +
		"```json\n" +
		"$ irsa policy validate not-a-command.json\n" +
		"```\n" +
		"```sh\n" +
		"# a comment\n" +
		"irsa policy validate b.json\n" +
		"irsa version\n" +
		"```\n"
	got, err := extractCommands("doc.md", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []docCommand{
		{file: "doc.md", line: 3, command: "irsa policy validate a.json",
			args: []string{"policy", "validate", "a.json"}, output: "a.json: OK (identity policy, 1 statement)\n"},
		{file: "doc.md", line: 6, command: `irsa policy simulate --policy 'my file.json'      --action s3:GetObject --context "k=v w"   # exit status 3`,
			args: []string{"policy", "simulate", "--policy", "my file.json", "--action", "s3:GetObject", "--context", "k=v w"}, wantCode: 3},
		{file: "doc.md", line: 16, command: "irsa policy validate b.json", args: []string{"policy", "validate", "b.json"}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(docCommand{})); diff != "" {
		t.Errorf("extractCommands (-want +got):\n%s", diff)
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "irsa policy validate x.json", want: []string{"irsa", "policy", "validate", "x.json"}},
		{in: "  a   b\tc ", want: []string{"a", "b", "c"}},
		{in: `a 'b c' "d e" f\ g`, want: []string{"a", "b c", "d e", "f g"}},
		{in: `--context 'k=${aws:username}'`, want: []string{"--context", "k=${aws:username}"}},
		{in: `"say \"hi\" \\ \$HOME"`, want: []string{`say "hi" \ $HOME`}},
		{in: `k=a'b'"c"`, want: []string{"k=abc"}},
		{in: `''`, want: []string{""}},
		{in: `a=b*c`, want: []string{"a=b*c"}},
		{in: `cat x | irsa`, wantErr: true},
		{in: `echo $HOME`, wantErr: true},
		{in: `"$HOME"`, wantErr: true},
		{in: `'open`, wantErr: true},
		{in: `"open`, wantErr: true},
		{in: `a; b`, wantErr: true},
		{in: `x.json > out`, wantErr: true},
		{in: `*.json`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitWords(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
			t.Errorf("splitWords(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

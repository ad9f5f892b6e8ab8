package localnode

import "strings"

// expand replaces $(VAR) references in s the way the kubelet does for env
// values, command and args: a defined VAR is replaced by its value, an
// undefined one stays as written, "$$" is an escaped "$", and a "$" that does
// not start a complete reference is kept.
func expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	checkpoint := 0
	for cur := 0; cur < len(s); cur++ {
		if s[cur] != '$' || cur+1 >= len(s) {
			continue
		}
		b.WriteString(s[checkpoint:cur])
		read, isVar, advance := readVariable(s[cur+1:])
		if isVar {
			if v, ok := lookup(read); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + read + ")")
			}
		} else {
			b.WriteString(read)
		}
		cur += advance
		checkpoint = cur + 1
	}
	return b.String() + s[checkpoint:]
}

// readVariable reads what follows a "$": the variable name of "(NAME)", or
// the literal text to keep, and how many bytes it consumed.
func readVariable(s string) (read string, isVar bool, advance int) {
	switch s[0] {
	case '$':
		return "$", false, 1
	case '(':
		if i := strings.IndexByte(s[1:], ')'); i >= 0 {
			return s[1 : i+1], true, i + 2
		}
		return "$(", false, 1
	default:
		return "$" + s[:1], false, 1
	}
}

// envLookup looks names up in an ordered environment.
func envLookup(env []envVar) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

package config

import "strings"

// This file masks passwords in key=value connection strings, the libpq
// form "host=h user=u password='p w' dbname=d" that pgx also accepts.

// isKeyValueDSN reports whether s starts with "name=", which no URL or
// MySQL driver DSN does.
func isKeyValueDSN(s string) bool {
	end := strings.IndexAny(s, "=:@/(?")
	if end <= 0 || s[end] != '=' {
		return false
	}
	return !strings.ContainsAny(strings.TrimSpace(s[:end]), " \t\n")
}

// redactKeyValues rewrites s with the value of every key whose name
// contains "password" replaced by the mask; everything else is copied.
func redactKeyValues(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		keyStart := skipSpaces(s, i)
		eq := strings.IndexByte(s[keyStart:], '=')
		if eq < 0 {
			b.WriteString(s[i:])
			break
		}
		key := strings.TrimSpace(s[keyStart : keyStart+eq])
		valStart := skipSpaces(s, keyStart+eq+1)
		valEnd := endOfValue(s, valStart)
		b.WriteString(s[i:valStart])
		if isPasswordKey(key) {
			b.WriteString(Mask)
		} else {
			b.WriteString(s[valStart:valEnd])
		}
		i = valEnd
	}
	return b.String()
}

func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	return i
}

// endOfValue returns where the value starting at i ends: after the closing
// quote of a single-quoted value (a backslash escapes the next byte), or at
// the next white space.
func endOfValue(s string, i int) int {
	if i < len(s) && s[i] == '\'' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case '\'':
				return j + 1
			}
		}
		return len(s)
	}
	for j := i; j < len(s); j++ {
		if s[j] == ' ' || s[j] == '\t' || s[j] == '\n' {
			return j
		}
	}
	return len(s)
}

package config

import (
	"fmt"
	"strings"
)

// This file shows connection strings with their passwords masked and gives
// the sections that hold such strings their String and GoString methods.

// RedactedDSN returns the DSN with its password replaced by Mask and the
// rest left readable. It understands the URL form
// (postgres://user:pw@host/db), the MySQL driver form
// (user:pw@tcp(host)/db) and the key=value form (host=h password=pw);
// query parameters and keys whose name contains "password" are masked too.
func (s SQL) RedactedDSN() string { return redactConnString(s.DSN.Reveal()) }

// RedactedAMQPURL returns AMQPURL with its password replaced by Mask.
func (r Router) RedactedAMQPURL() string { return redactConnString(r.AMQPURL.Reveal()) }

// String shows the section with the DSN's password masked.
func (s SQL) String() string {
	return fmt.Sprintf("{Dialect:%s DSN:%s MaxOpenConns:%d MaxIdleConns:%d ConnMaxLifetime:%v}",
		s.Dialect, s.RedactedDSN(), s.MaxOpenConns, s.MaxIdleConns, s.ConnMaxLifetime)
}

// GoString shows the section as Go syntax with the DSN's password masked.
func (s SQL) GoString() string {
	return fmt.Sprintf("config.SQL{Dialect:%q, DSN:%q, MaxOpenConns:%d, MaxIdleConns:%d, "+
		"ConnMaxLifetime:%d}",
		s.Dialect, s.RedactedDSN(), s.MaxOpenConns, s.MaxIdleConns, int64(s.ConnMaxLifetime))
}

// String shows the section with the AMQP URL's password masked.
func (r Router) String() string {
	return fmt.Sprintf("{Backend:%s ConsumerGroup:%s CloseTimeout:%v HandlerTimeout:%v "+
		"AMQPURL:%s NATSURL:%s RedisAddr:%s}",
		r.Backend, r.ConsumerGroup, r.CloseTimeout, r.HandlerTimeout,
		r.RedactedAMQPURL(), r.NATSURL, r.RedisAddr)
}

// GoString shows the section as Go syntax with the AMQP URL's password masked.
func (r Router) GoString() string {
	return fmt.Sprintf("config.Router{Backend:%q, ConsumerGroup:%q, CloseTimeout:%d, "+
		"HandlerTimeout:%d, AMQPURL:%q, NATSURL:%q, RedisAddr:%q}",
		r.Backend, r.ConsumerGroup, int64(r.CloseTimeout), int64(r.HandlerTimeout),
		r.RedactedAMQPURL(), r.NATSURL, r.RedisAddr)
}

// plainConfig has Config's fields but none of its methods, so formatting
// it does not recurse into Config.String.
type plainConfig Config

// String shows every section with field names; secrets are masked and
// connection strings show everything but their passwords.
func (c Config) String() string { return fmt.Sprintf("%+v", plainConfig(c)) }

// redactConnString masks the password in a connection string of any of
// the forms RedactedDSN understands.
func redactConnString(s string) string {
	switch {
	case s == "":
		return ""
	case strings.Contains(s, "://"):
		return redactURL(s)
	case isKeyValueDSN(s):
		return redactKeyValues(s)
	default:
		return redactMySQL(s)
	}
}

// redactURL masks the password of scheme://user:pw@host/path?query. The
// user information ends at the last '@', so a password holding an
// unescaped '/', '?' or '@' is still masked whole.
func redactURL(s string) string {
	i := strings.Index(s, "://") + len("://")
	head, rest := s[:i], s[i:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = maskUserInfo(rest[:at]) + rest[at:]
	}
	return head + redactQuery(rest)
}

// redactMySQL masks the password of user:pw@proto(addr)/db?params. Like
// the MySQL driver, it takes the user information to end at the last '@'
// before the last '/'.
func redactMySQL(s string) string {
	end := strings.LastIndex(s, "/")
	if end < 0 {
		end = len(s)
	}
	at := strings.LastIndex(s[:end], "@")
	if at < 0 {
		return redactQuery(s)
	}
	return maskUserInfo(s[:at]) + redactQuery(s[at:])
}

// maskUserInfo turns "user:pw" into "user:[redacted]"; without a colon
// there is no password and the text is returned as is.
func maskUserInfo(userinfo string) string {
	colon := strings.Index(userinfo, ":")
	if colon < 0 {
		return userinfo
	}
	return userinfo[:colon+1] + Mask
}

// redactQuery masks the values of query parameters whose name contains
// "password" in the part of s after the first '?'.
func redactQuery(s string) string {
	q := strings.Index(s, "?")
	if q < 0 {
		return s
	}
	params := strings.Split(s[q+1:], "&")
	for i, p := range params {
		name, _, found := strings.Cut(p, "=")
		if found && isPasswordKey(name) {
			params[i] = name + "=" + Mask
		}
	}
	return s[:q+1] + strings.Join(params, "&")
}

func isPasswordKey(name string) bool {
	return strings.Contains(strings.ToLower(name), "password")
}

package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// This file holds the small checks that the section validators share.

var (
	// topicPattern is the character set Kafka allows in topic names.
	topicPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	// tablePattern is a plain SQL identifier, optionally schema-qualified.
	tablePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	// versionPattern is a Kafka release as major.minor.patch.
	versionPattern = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)
	// oldVersionPattern is a pre-1.0 release as 0.major.minor.patch.
	oldVersionPattern = regexp.MustCompile(`^0\.\d+\.\d+\.\d+$`)
)

// maxTopicLength is the longest topic name Kafka accepts.
const maxTopicLength = 249

// maxIdentifierLength is PostgreSQL's limit; MySQL allows one more.
const maxIdentifierLength = 63

func indexed(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

func notEmpty(p *problems, field, value string) {
	if value == "" {
		p.add(field, "", "must not be empty")
	}
}

func positive(p *problems, field string, n int) {
	if n <= 0 {
		p.add(field, n, "must be positive")
	}
}

func notNegative(p *problems, field string, n int) {
	if n < 0 {
		p.add(field, n, "must not be negative")
	}
}

// oneOf reports a value outside allowed, listing the allowed values.
func oneOf(p *problems, field, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	p.add(field, value, "must be one of "+strings.Join(allowed, ", "))
}

// checkHostPort reports an address that is not host:port with a numeric
// port. needHost also rejects an empty host (":9092"); a listen address
// may leave it empty to mean every interface, and may use port 0.
func checkHostPort(p *problems, field, addr string, needHost bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(field, addr, "must be host:port")
		return
	}
	if needHost && host == "" {
		p.add(field, addr, "must be host:port with a host")
		return
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || needHost && n == 0 {
		p.add(field, addr, "must have a port between 1 and 65535")
	}
}

// checkTopic reports a topic name Kafka would refuse.
func checkTopic(p *problems, field, topic string) {
	switch {
	case topic == "":
		p.add(field, "", "must not be empty")
	case topic == "." || topic == "..":
		p.add(field, topic, "must not be . or ..")
	case len(topic) > maxTopicLength:
		p.add(field, topic, fmt.Sprintf("must not be longer than %d characters", maxTopicLength))
	case !topicPattern.MatchString(topic):
		p.add(field, topic, "may hold only letters, digits, '.', '_' and '-'")
	}
}

// checkTable reports a table name that is not a plain, optionally
// schema-qualified, SQL identifier.
func checkTable(p *problems, field, table string) {
	switch {
	case table == "":
		p.add(field, "", "must not be empty")
	case !tablePattern.MatchString(table):
		p.add(field, table, "must be an SQL identifier: letters, digits and '_', "+
			"optionally schema.table")
	default:
		for _, part := range strings.Split(table, ".") {
			if len(part) > maxIdentifierLength {
				p.add(field, table, fmt.Sprintf("each part must not be longer than %d characters",
					maxIdentifierLength))
				return
			}
		}
	}
}

// checkKafkaVersion reports a version that is not major.minor.patch or is
// older than 1.0.0, the oldest release this project supports.
func checkKafkaVersion(p *problems, field, version string) {
	m := versionPattern.FindStringSubmatch(version)
	if m == nil && oldVersionPattern.MatchString(version) {
		p.add(field, version, "must be 1.0.0 or newer")
		return
	}
	if m == nil {
		p.add(field, version, "must be a Kafka version such as 3.6.0")
		return
	}
	if major, err := strconv.Atoi(m[1]); err != nil || major < 1 {
		p.add(field, version, "must be 1.0.0 or newer")
	}
}

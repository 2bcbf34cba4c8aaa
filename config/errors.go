package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is matched by errors.Is for every error that Validate returns.
var ErrInvalid = errors.New("config: invalid")

// FieldError is one problem found by Validate.
type FieldError struct {
	// Field is the option's YAML path, as "kafka.required_acks"; an item of
	// a list carries its index, as "kafka.brokers[1]".
	Field string
	// Value is the offending value as text. It is empty when the value is
	// empty or is a secret: a secret's value is never reported.
	Value string
	// Problem says what is wrong, as "must be all, leader or none".
	Problem string
}

// Error reads as `kafka.required_acks "most": must be all, leader or none`.
func (e FieldError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Problem
	}
	return e.Field + " " + strconv.Quote(e.Value) + ": " + e.Problem
}

// ValidationError lists every problem Validate found. Use errors.As to get
// at it and errors.Is(err, ErrInvalid) to recognise it.
type ValidationError struct {
	// Problems holds one entry per problem, in the order of the fields.
	Problems []FieldError
}

// Error lists the problems on one line, separated by "; ".
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("config: %d invalid option(s): %s",
		len(e.Problems), strings.Join(msgs, "; "))
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns each problem as an error, so errors.As can find a
// FieldError.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// Field returns the first problem reported for field, and whether there
// is one.
func (e *ValidationError) Field(field string) (FieldError, bool) {
	for _, p := range e.Problems {
		if p.Field == field {
			return p, true
		}
	}
	return FieldError{}, false
}

// problems collects FieldErrors while a section is checked.
type problems []FieldError

// add records a problem; value is formatted with %v, so a Secret shows
// only the mask, but callers pass "" for secrets anyway.
func (p *problems) add(field string, value any, problem string) {
	*p = append(*p, FieldError{Field: field, Value: fmt.Sprint(value), Problem: problem})
}

// err returns nil when nothing was found, else a *ValidationError.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

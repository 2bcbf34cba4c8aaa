package inbox

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
)

// keyFunc picks the key source: Config.KeyFunc, the KeyMetadata entry or
// the message UUID.
func keyFunc(cfg Config) KeyFunc {
	if cfg.KeyFunc != nil {
		return cfg.KeyFunc
	}
	if name := cfg.KeyMetadata; name != "" {
		return func(msg *message.Message) (string, error) {
			return msg.Metadata.Get(name), nil
		}
	}
	return func(msg *message.Message) (string, error) { return msg.UUID, nil }
}

// messageKey computes and checks the key of msg. A key that can never be
// stored is a permanent error.
func (i *Inbox) messageKey(msg *message.Message) (string, error) {
	key, err := i.keyOf(msg)
	if err != nil {
		return "", Permanent(fmt.Errorf("inbox: key of message %q: %w", msg.UUID, err))
	}
	switch {
	case key == "":
		return "", Permanent(fmt.Errorf("%w (message %q)", ErrEmptyKey, msg.UUID))
	case len(key) > MaxKeyLen:
		return "", Permanent(fmt.Errorf("%w: %d bytes, over %d (message %q)",
			ErrInvalidKey, len(key), MaxKeyLen, msg.UUID))
	case !utf8.ValidString(key) || strings.ContainsRune(key, 0):
		return "", Permanent(fmt.Errorf("%w: not UTF-8 or holds NUL (message %q)",
			ErrInvalidKey, msg.UUID))
	}
	return key, nil
}

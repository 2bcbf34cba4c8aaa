package kafkatest

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/twmb/franz-go/pkg/kfake"
)

// kfakeLogger passes kfake's printf-style messages to a Watermill logger,
// one level lower than kfake's own, since kfake's info level reports
// single requests.
type kfakeLogger struct {
	l watermill.LoggerAdapter
}

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	msg := "kafkatest: " + fmt.Sprintf(format, args...)
	fields := watermill.LogFields{"kfake_level": level.String()}
	switch level {
	case kfake.LogLevelError:
		k.l.Error(msg, nil, fields)
	case kfake.LogLevelWarn:
		k.l.Info(msg, fields)
	case kfake.LogLevelInfo:
		k.l.Debug(msg, fields)
	default:
		k.l.Trace(msg, fields)
	}
}

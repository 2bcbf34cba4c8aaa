package router

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// newGoChannelBackend builds the in-process gochannel backend, for tests and
// demos: messages live in memory only, every subscriber of a topic gets every
// message (there are no consumer groups), and a nacked message is sent again.
func newGoChannelBackend(_ context.Context, cfg BackendConfig, b *Backend) error {
	b.Addr = "in-process"
	gc := gochannel.NewGoChannel(gochannel.Config{
		OutputChannelBuffer: 64,
		Persistent:          cfg.GoChannelPersistent,
	}, cfg.Logger)
	b.ownPublisher(gc)
	b.ownSubscriber(gc)
	return nil
}

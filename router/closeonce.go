package router

import (
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// The Watermill router closes the subscriber and publisher of each handler
// when it stops, from its own goroutines, and Backend.Close closes them
// again. Not every implementation tolerates a concurrent second Close
// (watermill-sql's subscriber reads its closed flag unguarded), so the
// Backend hands out wrappers whose Close runs the real one exactly once and
// makes every caller wait for it.

// closeOnce runs f once; every call returns its error.
type closeOnce struct {
	once sync.Once
	f    func() error
	err  error
}

// Close runs f the first time and returns its error every time.
func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.f() })
	return c.err
}

type oncePublisher struct {
	message.Publisher
	c *closeOnce
}

// Close closes the publisher once.
func (p oncePublisher) Close() error { return p.c.Close() }

type onceSubscriber struct {
	message.Subscriber
	c *closeOnce
}

// Close closes the subscriber once.
func (s onceSubscriber) Close() error { return s.c.Close() }

// SubscribeInitialize creates topic where the backend supports it, and does
// nothing where it does not.
func (s onceSubscriber) SubscribeInitialize(topic string) error {
	if i, ok := s.Subscriber.(message.SubscribeInitializer); ok {
		return i.SubscribeInitialize(topic)
	}
	return nil
}

// ownPublisher makes p the backend's publisher, closed once by Close.
func (b *Backend) ownPublisher(p message.Publisher) {
	c := &closeOnce{f: p.Close}
	b.Publisher = oncePublisher{Publisher: p, c: c}
	b.onClose(c.Close)
}

// ownSubscriber makes s the backend's subscriber, closed once by Close.
func (b *Backend) ownSubscriber(s message.Subscriber) {
	c := &closeOnce{f: s.Close}
	b.Subscriber = onceSubscriber{Subscriber: s, c: c}
	b.onClose(c.Close)
}

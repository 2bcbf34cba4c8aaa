package publisher

// Notifier is woken when committed outbox rows may be waiting in an SQL
// topic. An in-process forwarder implements it so that it drains right
// after a commit instead of at its next poll. A wake-up is only a hint:
// Notify must not block, and the forwarder must still poll, because a
// wake-up can be lost (another process committed) or early.
type Notifier interface {
	// Notify says that sqlTopic may have new committed rows.
	Notify(sqlTopic string)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(sqlTopic string)

// Notify calls f.
func (f NotifierFunc) Notify(sqlTopic string) { f(sqlTopic) }

// notifyChannelPrefix starts every PostgreSQL notification channel of the
// outbox. With MaxSQLTopicLength it keeps channels under 63 bytes.
const notifyChannelPrefix = "watermill_notify_"

// NotifyChannel is the PostgreSQL LISTEN channel on which an outbox with
// the given base SQL topic announces commits. The payload of each
// notification is the SQL topic (the shard) that received rows, so one
// LISTEN covers every shard. A forwarder must LISTEN on this channel.
func NotifyChannel(baseTopic string) string {
	return notifyChannelPrefix + baseTopic
}

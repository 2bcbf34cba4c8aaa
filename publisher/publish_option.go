package publisher

// PublishOption changes one call of EventPublisher.Publish.
type PublishOption func(*publishOptions)

type publishOptions struct {
	key      string
	uuid     string
	metadata map[string]string
}

// WithPartitionKey sets the partition key of the message, overriding the
// event's own PartitionKey. Messages with one key keep their order.
func WithPartitionKey(key string) PublishOption {
	return func(o *publishOptions) { o.key = key }
}

// WithMessageUUID sets the message UUID instead of a fresh random one, for a
// caller that needs a stable id (for example one derived from a business
// key, so that a repeated publish is deduplicated by the inbox).
func WithMessageUUID(id string) PublishOption {
	return func(o *publishOptions) { o.uuid = id }
}

// WithMetadata adds a metadata entry to the message. The entries that
// EventPublisher sets itself (event type, correlation id, partition key)
// take precedence.
func WithMetadata(key, value string) PublishOption {
	return func(o *publishOptions) {
		if o.metadata == nil {
			o.metadata = map[string]string{}
		}
		o.metadata[key] = value
	}
}

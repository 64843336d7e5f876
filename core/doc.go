// Package core is the domain of edobot: organisations, parties, documents and
// their signatures, the status machine with its action table, folders, the
// audit trail, and the use cases the front ends call. It knows nothing of
// databases, queues or messengers: it states what it needs from them as small
// interfaces (Store, BlobStore) and the storage package provides them.
package core

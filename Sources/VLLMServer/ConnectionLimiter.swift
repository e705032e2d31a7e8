import NIOCore
import Synchronization

/// The open connections, shared by every connection's `ConnectionLimiter`.
final class ConnectionCount: Sendable {
    let open = Atomic<Int>(0)
}

/// `--max-connections`: a connection that arrives while that many are open is closed at once,
/// before anything is read from it, so idle or stalled clients cannot take every file
/// descriptor (the keep-alive timeout closes the ones that stall). It only counts: the bytes
/// pass through untouched.
final class ConnectionLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let count: ConnectionCount
    private let limit: Int
    private var counted = false

    init(count: ConnectionCount, limit: Int) {
        self.count = count
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { release() }

    private func admit(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        if count.open.add(1, ordering: .relaxed).newValue > limit { context.close(promise: nil) }
    }

    private func release() {
        guard counted else { return }
        counted = false
        count.open.subtract(1, ordering: .relaxed)
    }
}

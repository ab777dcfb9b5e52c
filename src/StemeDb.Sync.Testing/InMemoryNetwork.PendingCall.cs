using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace StemeDb.Sync.Testing;

/// <content>Calls held for manual delivery.</content>
public sealed partial class InMemoryNetwork
{
    private abstract class PendingCall
    {
        protected PendingCall(string from, string to)
        {
            From = from;
            To = to;
        }

        public string From { get; }

        public string To { get; }

        public abstract ValueTask DeliverAsync();

        public abstract void Fail(Exception exception);
    }

    private sealed class PendingCall<T> : PendingCall
    {
        private readonly InMemoryNetwork _network;
        private readonly SyncRpc _rpc;
        private readonly Func<ISyncRequestHandler, CancellationToken, ValueTask<T>> _invoke;
        private readonly CancellationToken _cancellationToken;
        private readonly TaskCompletionSource<T> _completion = new(); // Continuations run inline: a deterministic schedule.
        private readonly CancellationTokenRegistration _registration;

        public PendingCall(
            InMemoryNetwork network,
            string from,
            string to,
            SyncRpc rpc,
            Func<ISyncRequestHandler, CancellationToken, ValueTask<T>> invoke,
            CancellationToken cancellationToken)
            : base(from, to)
        {
            _network = network;
            _rpc = rpc;
            _invoke = invoke;
            _cancellationToken = cancellationToken;
            _registration = cancellationToken.Register(static state =>
            {
                var self = (PendingCall<T>)state!;
                self._network.Remove(self);
                self._completion.TrySetCanceled(self._cancellationToken);
            }, this);
        }

        public Task<T> Task => _completion.Task;

        public override async ValueTask DeliverAsync()
        {
            await _registration.DisposeAsync().ConfigureAwait(false);
            if (_completion.Task.IsCompleted)
            {
                return;
            }

            try
            {
                T result = await _network.DeliverCoreAsync(From, To, _rpc, _invoke, _cancellationToken).ConfigureAwait(false);
                _completion.TrySetResult(result);
            }
            catch (OperationCanceledException) when (_cancellationToken.IsCancellationRequested)
            {
                _completion.TrySetCanceled(_cancellationToken);
            }
#pragma warning disable CA1031 // Every failure goes to the caller.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _completion.TrySetException(ex);
            }
        }

        public override void Fail(Exception exception)
        {
            _registration.Dispose();
            _completion.TrySetException(exception);
        }
    }
}

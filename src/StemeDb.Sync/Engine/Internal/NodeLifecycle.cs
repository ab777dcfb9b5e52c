using System;
using System.Threading;

namespace StemeDb.Sync.Engine.Internal;

/// <summary>The node's state (created, starting, running, stopped) and the token its background work stops on.</summary>
internal sealed class NodeLifecycle : IDisposable
{
    private const int Created = 0;
    private const int Starting = 1;
    private const int Running = 2;
    private const int Stopped = 3;

    private readonly CancellationTokenSource _stopping = new();
    private volatile int _state;

    /// <summary>Guards state changes and the peer table's changes that depend on the state.</summary>
    public object Gate { get; } = new();

    public bool IsRunning => _state == Running;

    public bool IsStopped => _state == Stopped;

    /// <summary>Cancelled when the node stops.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Created to starting; call under <see cref="Gate"/>.</summary>
    public void BeginStart()
    {
        if (_state != Created)
        {
            throw new InvalidOperationException(_state == Stopped
                ? "The sync node was stopped; create a new node to start again."
                : "The sync node was already started.");
        }

        _state = Starting;
    }

    /// <summary>Back to created after a failed start-up; call under <see cref="Gate"/>.</summary>
    public void AbortStart() => _state = Created;

    /// <summary>Starting to running; call under <see cref="Gate"/>.</summary>
    public void CompleteStart() => _state = Running;

    /// <summary>To stopped; returns <see langword="false"/> when already stopped. Call under <see cref="Gate"/>.</summary>
    public bool BeginStop()
    {
        if (_state == Stopped)
        {
            return false;
        }

        _state = Stopped;
        return true;
    }

    /// <summary>Cancels <see cref="Stopping"/>; outside the gate, so that callbacks run without it.</summary>
    public void SignalStopping() => _stopping.Cancel();

    /// <summary>For host calls: throws when the node is not running.</summary>
    public void EnsureRunning()
    {
        if (_state != Running)
        {
            throw new InvalidOperationException(_state == Stopped
                ? "The sync node was stopped."
                : "The sync node is not running; call StartAsync first.");
        }
    }

    /// <summary>For peer requests: refuses them with <see cref="SyncStatusCode.Unavailable"/> when the node is not running.</summary>
    public void EnsureServing()
    {
        if (_state != Running)
        {
            throw new SyncRequestException(SyncStatusCode.Unavailable, "The sync node is not running.");
        }
    }

    public void Dispose() => _stopping.Dispose();
}

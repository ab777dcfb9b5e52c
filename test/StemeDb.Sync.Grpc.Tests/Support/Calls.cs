using System;
using System.Threading.Tasks;
using Grpc.Core;

namespace StemeDb.Sync.Grpc.Tests.Support;

/// <summary>Builds <see cref="AsyncUnaryCall{TResponse}"/> results for mocked clients.</summary>
internal static class Calls
{
    public static AsyncUnaryCall<T> Success<T>(T response) =>
        new(Task.FromResult(response), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => new Metadata(), () => { });

    public static AsyncUnaryCall<T> Failure<T>(StatusCode code, string detail = "failure detail")
    {
        var status = new Status(code, detail);
        return new(Task.FromException<T>(new RpcException(status)), Task.FromResult(new Metadata()), () => status, () => new Metadata(), () => { });
    }

    public static AsyncUnaryCall<T> Throwing<T>(Exception exception) =>
        new(Task.FromException<T>(exception), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => new Metadata(), () => { });
}

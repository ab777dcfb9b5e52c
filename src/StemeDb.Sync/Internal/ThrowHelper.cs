using System;
using System.Diagnostics.CodeAnalysis;

namespace StemeDb.Sync.Internal;

internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowWrongLength(string paramName, int expected, int actual) =>
        throw new ArgumentException($"Expected exactly {expected} bytes but got {actual}.", paramName);

    [DoesNotReturn]
    public static void ThrowFormat(string message) => throw new FormatException(message);
}

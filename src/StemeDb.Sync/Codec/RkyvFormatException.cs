using System;

namespace StemeDb.Sync;

/// <summary>
/// Thrown when bytes are not a valid rkyv archive of the expected type. This is the only exception the codec throws
/// for corrupt or hostile input; the <c>TryValidate</c>/<c>TryAccess</c> members report the same information without
/// throwing.
/// </summary>
public sealed class RkyvFormatException : FormatException
{
    /// <summary>Creates an exception for a validation error.</summary>
    /// <param name="error">The validation error.</param>
    public RkyvFormatException(RkyvError error)
        : base("Invalid rkyv archive: " + error.ToString() + ".")
    {
        Error = error;
    }

    /// <summary>The validation error.</summary>
    public RkyvError Error { get; }
}

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

    /// <summary>Creates an exception with a message (<see cref="ErrorKind"/> is <see cref="RkyvErrorKind.None"/>).</summary>
    public RkyvFormatException()
        : base("Invalid rkyv archive.")
    {
    }

    /// <summary>Creates an exception with a message (<see cref="ErrorKind"/> is <see cref="RkyvErrorKind.None"/>).</summary>
    /// <param name="message">The message.</param>
    public RkyvFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RkyvFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The validation error.</summary>
    public RkyvError Error { get; }

    /// <summary>The error class (shortcut for <c>Error.Kind</c>).</summary>
    public RkyvErrorKind ErrorKind => Error.Kind;
}

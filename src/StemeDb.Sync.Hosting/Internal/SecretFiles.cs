using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Text;
using StemeDb.Sync.Grpc;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// Secrets on disk and on the wire: reading a token file, whether a token may be sent to an address, whether a file that
/// holds a secret can be read by other users, and creating files only their owner can read (shared with the command line).
/// </summary>
internal static class SecretFiles
{
    /// <summary>Read and write for the owner only (0600).</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// The token of a token file: its text without surrounding white space, at least
    /// <see cref="BearerTokenAuthorizer.MinimumTokenBytes"/> bytes in UTF-8; throws <see cref="InvalidDataException"/> otherwise.
    /// </summary>
    public static string ReadToken(string path)
    {
        string token = File.ReadAllText(path).Trim();
        if (token.Length == 0)
        {
            throw new InvalidDataException($"'{path}' is empty.");
        }

        int bytes = Encoding.UTF8.GetByteCount(token);
        return bytes >= BearerTokenAuthorizer.MinimumTokenBytes
            ? token
            : throw new InvalidDataException(string.Create(
                CultureInfo.InvariantCulture,
                $"'{path}' holds a token of {bytes} bytes; a token must be at least {BearerTokenAuthorizer.MinimumTokenBytes} bytes (UTF-8), such as the output of 'openssl rand -hex 32'."));
    }

    /// <summary>
    /// Whether a bearer token may be sent to <paramref name="address"/>: over https, or in cleartext to this machine only
    /// (localhost, 127.0.0.0/8, ::1). Anyone on the path between two machines reads a cleartext header.
    /// </summary>
    public static bool MaySendToken(Uri address) =>
        address.Scheme == Uri.UriSchemeHttps || IsLoopback(address);

    /// <summary>Whether <paramref name="address"/> names this machine: localhost, 127.0.0.0/8 or ::1 (also IPv4-mapped).</summary>
    public static bool IsLoopback(Uri address) => IsLoopback(address.Host);

    /// <summary>Whether a host name or address is this machine: localhost, 127.0.0.0/8 or ::1 (also IPv4-mapped); not 0.0.0.0 or [::].</summary>
    public static bool IsLoopback(string host)
    {
        host = host.TrimEnd('.');
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? ip))
        {
            return false;
        }

        return IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip);
    }

    /// <summary>
    /// Who besides its owner can read <paramref name="path"/> ("group", "others", "group and others"), or
    /// <see langword="null"/> when no one can, on Windows (which has no such modes), or when the file cannot be examined.
    /// A symbolic link is followed.
    /// </summary>
    public static string? ReadableByOthers(string path, out UnixFileMode mode)
    {
        mode = default;
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        try
        {
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }

        bool group = (mode & UnixFileMode.GroupRead) != 0;
        bool others = (mode & UnixFileMode.OtherRead) != 0;
        return (group, others) switch
        {
            (true, true) => "group and others",
            (true, false) => "group",
            (false, true) => "others",
            _ => null,
        };
    }

    /// <summary>The warning for a secret file that others can read, naming the file and the fix; <see langword="null"/> when none is due.</summary>
    /// <param name="path">The file.</param>
    /// <param name="setting">The setting or option that names it, such as <c>StemeDbSync:Tls:KeyFile</c> or <c>--tls-key</c>.</param>
    public static string? PermissionWarning(string path, string setting)
    {
        string? who = ReadableByOthers(path, out UnixFileMode mode);
        return who is null
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{setting} '{path}' holds a secret and can be read by its {who} (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}); make it readable by its owner only: chmod 600 '{path}'");
    }

    /// <summary>
    /// Opens <paramref name="path"/> for writing; a file it creates is readable and writable by its owner only (0600) on
    /// Unix. An existing file keeps its mode.
    /// </summary>
    public static FileStream CreateOwnerOnly(string path, FileMode mode, int bufferSize = 4096, bool useAsync = false)
    {
        var options = new FileStreamOptions
        {
            Mode = mode,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = bufferSize,
            Options = useAsync ? FileOptions.Asynchronous : FileOptions.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        return new FileStream(path, options);
    }
}

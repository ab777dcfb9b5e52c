using System.Text;

namespace StemeDb.Sync.Cli.Rkyv.Internal;

/// <summary>UTF-8 that refuses lone surrogates instead of replacing them (a Rust <c>String</c> cannot hold them).</summary>
internal static class Utf8Strict
{
    public static readonly UTF8Encoding Encoding = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}

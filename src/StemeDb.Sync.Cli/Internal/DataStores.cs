using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using StemeDb.Sync.RocksDb;
using StemeDb.Sync.Sqlite;

namespace StemeDb.Sync.Cli.Internal;

/// <summary>The durable stores a data directory can hold.</summary>
internal enum StoreKind
{
    /// <summary>RocksDB in <c>DIR/assertions/</c>: the default for a new directory.</summary>
    RocksDb,

    /// <summary>SQLite in <c>DIR/assertions.db</c>.</summary>
    Sqlite,
}

/// <summary>
/// Opens the store of a data directory (<c>--data</c>) by what the directory holds: a SQLite store
/// (<c>assertions.db</c>) or a RocksDB store (<c>assertions/</c>); a directory that holds neither gets a new one of the
/// kind asked for, RocksDB unless <c>--store sqlite</c>.
/// </summary>
internal static class DataStores
{
    /// <summary>The SQLite store's file in a data directory.</summary>
    public const string SqliteFileName = "assertions.db";

    /// <summary>The RocksDB store's directory in a data directory.</summary>
    public const string RocksDbDirectoryName = "assertions";

    /// <summary>The kind of store <paramref name="directory"/> holds; <see langword="null"/> when it holds none.</summary>
    public static StoreKind? Existing(string directory) =>
        File.Exists(Path.Combine(directory, SqliteFileName)) ? StoreKind.Sqlite
        : Directory.Exists(Path.Combine(directory, RocksDbDirectoryName)) ? StoreKind.RocksDb
        : null;

    /// <summary>Parses a <c>--store</c> value.</summary>
    public static StoreKind? Parse(string? text) => text switch
    {
        null => null,
        "rocksdb" => StoreKind.RocksDb,
        "sqlite" => StoreKind.Sqlite,
        _ => throw new CliException(ExitCodes.Usage, $"--store: '{text}' is not a store; use rocksdb or sqlite."),
    };

    /// <summary>
    /// Opens the store <paramref name="directory"/> holds, or a new one of <paramref name="wanted"/> (RocksDB when
    /// <see langword="null"/>). <paramref name="wanted"/> naming another kind than the directory holds is a usage error.
    /// </summary>
    /// <returns>The store, and how to name it in a log line.</returns>
    public static async Task<(IAssertionStore Store, string Description)> OpenAsync(string directory, StoreKind? wanted, CancellationToken cancellationToken)
    {
        string full = Path.GetFullPath(directory);
        StoreKind? existing = Existing(full);
        if (existing is { } held && wanted is { } asked && held != asked)
        {
            throw new CliException(
                ExitCodes.Usage, $"--store {Name(asked)}: '{directory}' already holds a {Name(held)} store; leave --store out to open it, or use another directory.");
        }

        StoreKind kind = existing ?? wanted ?? StoreKind.RocksDb;
        try
        {
            if (kind == StoreKind.Sqlite)
            {
                string file = Path.Combine(full, SqliteFileName);
                return (await SqliteAssertionStore.OpenAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false), "sqlite " + file);
            }

            string path = Path.Combine(full, RocksDbDirectoryName);
            return (RocksDbAssertionStore.Open(path), "rocksdb " + path);
        }
        catch (IOException ex)
        {
            throw new CliException(ExitCodes.IOError, $"cannot open the data directory '{directory}': {ex.Message}", ex);
        }
    }

    private static string Name(StoreKind kind) => kind == StoreKind.Sqlite ? "sqlite" : "rocksdb";
}

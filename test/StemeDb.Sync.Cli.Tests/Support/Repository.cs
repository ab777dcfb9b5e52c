using System;
using System.IO;

namespace StemeDb.Sync.Cli.Tests.Support;

/// <summary>The repository the tests run from (docs, samples), found above the test binaries.</summary>
internal static class Repository
{
    /// <summary>The folder that holds StemeDb.Sync.sln.</summary>
    public static string Root()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StemeDb.Sync.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (StemeDb.Sync.sln) is not above the test folder.");
    }
}

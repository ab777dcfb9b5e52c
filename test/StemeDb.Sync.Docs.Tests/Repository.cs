using System;
using System.IO;

namespace StemeDb.Sync.Docs.Tests;

/// <summary>Where the repository's files are, seen from the test's output folder.</summary>
internal static class Repository
{
    /// <summary>The folder holding StemeDb.Sync.sln.</summary>
    public static string Root()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StemeDb.Sync.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (StemeDb.Sync.sln) is not above the test folder.");
    }
}

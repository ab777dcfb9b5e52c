using System;
using Microsoft.Extensions.Options;

namespace StemeDb.Sync.Hosting.Internal;

/// <summary>
/// Checks the engine settings at start-up with the core's own validation (<see cref="SyncNodeOptions.Validate"/>), so a
/// host fails to start with a message naming the setting instead of when the node is first resolved.
/// </summary>
internal sealed class SyncNodeOptionsValidator : IValidateOptions<SyncNodeOptions>
{
    public ValidateOptionsResult Validate(string? name, SyncNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            string setting = ex.ParamName ?? nameof(SyncNodeOptions);
            string message = ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", string.Empty, StringComparison.Ordinal);
            return ValidateOptionsResult.Fail($"{StemeDbSyncOptions.SectionName}:{setting}: {message}");
        }
    }
}

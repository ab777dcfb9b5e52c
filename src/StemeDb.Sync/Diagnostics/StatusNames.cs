using System;
using System.Collections.Generic;
using System.Text.Json;

namespace StemeDb.Sync;

/// <summary>
/// How states and extensions are spelled outside the library (metric tags, the <c>GetStatus</c> message, JSON): the
/// enum member's name in lower snake case (<c>in_sync</c>, <c>peer_behind</c>, <c>stream_assertions</c>).
/// </summary>
internal static class StatusNames
{
    private static readonly SyncPeerState[] States = Enum.GetValues<SyncPeerState>();
    private static readonly string[] StateNames = Array.ConvertAll(States, s => Spell(s.ToString()));
    private static readonly SyncExtensions[] Flags = Array.FindAll(Enum.GetValues<SyncExtensions>(), f => f != SyncExtensions.None);
    private static readonly string[] FlagNames = Array.ConvertAll(Flags, f => Spell(f.ToString()));

    /// <summary>The spelling of <paramref name="state"/>.</summary>
    public static string State(SyncPeerState state)
    {
        int index = Array.IndexOf(States, state);
        return index >= 0 ? StateNames[index] : Spell(state.ToString());
    }

    /// <summary>The state spelled <paramref name="name"/>; <see cref="SyncPeerState.Unknown"/> for any other spelling.</summary>
    public static SyncPeerState ParseState(string name)
    {
        int index = Array.IndexOf(StateNames, name);
        return index >= 0 ? States[index] : SyncPeerState.Unknown;
    }

    /// <summary>The spellings of the flags set in <paramref name="extensions"/>, in flag order.</summary>
    public static List<string> Extensions(SyncExtensions extensions)
    {
        var names = new List<string>(Flags.Length);
        for (int i = 0; i < Flags.Length; i++)
        {
            if ((extensions & Flags[i]) != 0)
            {
                names.Add(FlagNames[i]);
            }
        }

        return names;
    }

    /// <summary>The flags spelled in <paramref name="names"/>; unknown spellings (later extensions) are skipped.</summary>
    public static SyncExtensions ParseExtensions(IEnumerable<string> names)
    {
        SyncExtensions extensions = SyncExtensions.None;
        foreach (string name in names)
        {
            int index = Array.IndexOf(FlagNames, name);
            if (index >= 0)
            {
                extensions |= Flags[index];
            }
        }

        return extensions;
    }

    private static string Spell(string member) => JsonNamingPolicy.SnakeCaseLower.ConvertName(member);
}

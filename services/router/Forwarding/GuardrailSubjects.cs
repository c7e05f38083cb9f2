using Gateway.Aspire.Policy.Grpc;
using Google.Protobuf.Collections;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>The caller as rules' <c>when.subjects</c> name it, from policy's admitted identity.</summary>
internal static class GuardrailSubjects
{
    /// <summary>Adds <c>virtualaccount:</c>, <c>user:</c> and every <c>team:</c> of the caller.</summary>
    public static void AddTo(RepeatedField<string> subjects, Identity identity)
    {
        if (VirtualAccountOf(identity) is { Length: > 0 } virtualAccount)
        {
            subjects.Add("virtualaccount:" + virtualAccount);
        }

        if (identity.User.Length > 0)
        {
            subjects.Add("user:" + identity.User);
        }

        foreach (var team in identity.Teams)
        {
            subjects.Add("team:" + team);
        }
    }

    /// <summary>
    /// The caller's virtual account: policy's, or for a token issued before identities existed
    /// (policy reports none) the token's own name, as rules have always seen it; empty for a personal token.
    /// </summary>
    public static string VirtualAccountOf(Identity identity) =>
        identity.VirtualAccount.Length > 0 ? identity.VirtualAccount
        : identity.Kind == "personal" ? ""
        : identity.TokenName;
}

using Gateway.Aspire.Policy.Grpc;
using Google.Protobuf.Collections;

namespace Gateway.Aspire.Router.Forwarding;

/// <summary>The caller as guardrail rules' <c>when.subjects</c> name it, from policy's admitted identity.</summary>
internal static class GuardrailSubjects
{
    /// <summary>
    /// Adds <c>virtualaccount:&lt;token name&gt;</c>. Policy's <see cref="Identity"/> names only the
    /// token today; when it carries the user and teams, they belong here too (<c>user:</c>, <c>team:</c>).
    /// </summary>
    public static void AddTo(RepeatedField<string> subjects, Identity identity)
    {
        if (identity.TokenName.Length > 0)
        {
            subjects.Add("virtualaccount:" + identity.TokenName);
        }
    }
}

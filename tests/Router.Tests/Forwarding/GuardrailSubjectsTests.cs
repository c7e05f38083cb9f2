using Gateway.Aspire.Policy.Grpc;
using Gateway.Aspire.Router.Forwarding;
using Google.Protobuf.Collections;

namespace Gateway.Aspire.Router.Tests.Forwarding;

public sealed class GuardrailSubjectsTests
{
    [Fact]
    public void PersonalToken_IsItsUserAndEveryTeam_NotAVirtualAccount()
    {
        var subjects = new RepeatedField<string>();
        GuardrailSubjects.AddTo(subjects, new Identity { TokenName = "laptop", Kind = "personal", User = "bob", Teams = { "design", "research" } });

        Assert.Equal(["user:bob", "team:design", "team:research"], subjects);
    }

    [Fact]
    public void VirtualAccountToken_IsItsAccountAndOwningTeam()
    {
        var subjects = new RepeatedField<string>();
        GuardrailSubjects.AddTo(subjects, new Identity { TokenName = "t1", Kind = "virtual-account", VirtualAccount = "web", Teams = { "research" } });

        Assert.Equal(["virtualaccount:web", "team:research"], subjects);
    }

    [Fact]
    public void TokenFromBeforeIdentities_IsSeenByItsName()
    {
        Assert.Equal("ci", GuardrailSubjects.VirtualAccountOf(new Identity { TokenName = "ci" }));
        Assert.Equal("", GuardrailSubjects.VirtualAccountOf(new Identity { TokenName = "ci", Kind = "personal", User = "bob" }));
    }
}

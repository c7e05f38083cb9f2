using Gateway.Aspire.Router.Tests.TestHosts;

// One router (with its mock upstream and gRPC doubles) for the whole test assembly: starting it
// per class would cost more than the tests themselves.
[assembly: AssemblyFixture(typeof(RouterAppFixture))]

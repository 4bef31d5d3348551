package daemon_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/aws/aws-xray-sdk-go/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/xray"

	"github.com/fluoro-dev/fluoro/internal/daemon"
	"github.com/fluoro-dev/fluoro/internal/server"
)

// TestCentralizedSamplingThroughDaemon: an aws-xray-sdk-go centralized
// strategy pointed at `fluoro daemon` gets the rules of the `fluoro server`
// behind it, and GetSamplingTargets through the daemon answers with the
// server's quotas.
func TestCentralizedSamplingThroughDaemon(t *testing.T) {
	cfg := server.Default()
	cfg.Data, cfg.UDP, cfg.HTTP = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.OTLPGRPC, cfg.OTLPHTTP = "127.0.0.1:0", "127.0.0.1:0"
	s, err := server.Start(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	d, err := daemon.Start(testDaemon(t, "http://"+s.HTTPAddr().String()), testLogger(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())

	api := func(endpoint string) *awsxray.Client {
		return awsxray.New(awsxray.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	}
	if _, err := api("http://"+s.HTTPAddr().String()).CreateSamplingRule(context.Background(), &awsxray.CreateSamplingRuleInput{
		SamplingRule: &types.SamplingRule{RuleName: aws.String("via-daemon"), Priority: aws.Int32(1), FixedRate: 0.5, ReservoirSize: 4,
			ServiceName: aws.String("svc"), ServiceType: aws.String("*"), Host: aws.String("*"), HTTPMethod: aws.String("*"),
			URLPath: aws.String("*"), ResourceARN: aws.String("*"), Version: aws.Int32(1)}}); err != nil {
		t.Fatal(err)
	}

	ss, err := sampling.NewCentralizedStrategy()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("tcp:%s udp:%s", d.TCPAddr(), d.UDPAddr())
	if _, err := xray.ContextWithConfig(context.Background(), xray.Config{DaemonAddr: addr, SamplingStrategy: ss}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the SDK uses rule via-daemon", func() error {
		if r := aws.ToString(ss.ShouldTrace(&sampling.Request{ServiceName: "svc", URL: "/"}).Rule); r != "via-daemon" {
			return fmt.Errorf("decided by %q", r)
		}
		return nil
	})

	out, err := api("http://"+d.TCPAddr().String()).GetSamplingTargets(context.Background(), &awsxray.GetSamplingTargetsInput{
		SamplingStatisticsDocuments: []types.SamplingStatisticsDocument{{RuleName: aws.String("via-daemon"),
			ClientID: aws.String("0123456789abcdef01234567"), Timestamp: aws.Time(time.Now()), RequestCount: 100}}})
	if err != nil {
		t.Fatalf("GetSamplingTargets through the daemon: %v", err)
	}
	if len(out.SamplingTargetDocuments) != 1 || aws.ToInt32(out.SamplingTargetDocuments[0].ReservoirQuota) != 4 ||
		out.SamplingTargetDocuments[0].FixedRate != 0.5 || out.LastRuleModification == nil {
		t.Errorf("targets through the daemon: %+v", out)
	}
}

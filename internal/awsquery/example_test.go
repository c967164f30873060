package awsquery_test

import (
	"fmt"

	"github.com/irsa-dev/irsa/internal/awserr"
	"github.com/irsa-dev/irsa/internal/awsquery"
)

// A handler's use of the package: read the request, decode its input,
// answer with a result or an error.
func Example() {
	type input struct {
		RoleArn         string `query:"RoleArn"`
		DurationSeconds *int32 `query:"DurationSeconds"`
	}
	type output struct {
		Arn string `xml:"Arn"`
	}
	handle := func(body, accept string) {
		asJSON := awsquery.WantsJSON(accept)
		fail := func(err error) {
			e := awserr.As(err)
			out, _ := awsquery.MarshalError(awsquery.STSNamespace, e, "req-1", asJSON)
			fmt.Printf("%d %s\n", e.Status(), out)
		}
		req, err := awsquery.ParseRequest("POST", nil, "application/x-www-form-urlencoded; charset=utf-8", []byte(body))
		if err != nil {
			fail(err)
			return
		}
		if req.Action != "Demo" || req.Version != awsquery.STSVersion {
			fail(req.InvalidAction())
			return
		}
		var in input
		if err := awsquery.Decode(req.Params, &in); err != nil {
			fail(err)
			return
		}
		out, contentType, err := awsquery.MarshalResult(req.Action, awsquery.STSNamespace, "req-1", output{Arn: in.RoleArn}, asJSON)
		if err != nil {
			fail(awserr.Internal(err))
			return
		}
		fmt.Printf("200 %s\n%s", contentType, out)
	}

	handle("Action=Demo&Version=2011-06-15&DurationSeconds=abc", "application/json")
	handle("Action=Demo", "")
	handle("Action=Demo&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr", "*/*")
	// Output:
	// 400 {"Error":{"Code":"MalformedInput","Type":"Sender"},"RequestId":"req-1"}
	// 400 <ErrorResponse xmlns="http://webservices.amazon.com/AWSFault/2005-15-09">
	//   <Error>
	//     <Type>Sender</Type>
	//     <Code>InvalidAction</Code>
	//     <Message>Could not find operation Demo for version NO_VERSION_SPECIFIED</Message>
	//   </Error>
	//   <RequestId>req-1</RequestId>
	// </ErrorResponse>
	//
	// 200 text/xml
	// <DemoResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
	//   <DemoResult>
	//     <Arn>arn:aws:iam::111122223333:role/r</Arn>
	//   </DemoResult>
	//   <ResponseMetadata>
	//     <RequestId>req-1</RequestId>
	//   </ResponseMetadata>
	// </DemoResponse>
}

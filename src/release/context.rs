//! The AWS side of one run: the AWS config is loaded once, on first use (a run that reaches no
//! AWS stage needs no credentials), and every adapter is made from it, so the credential chain
//! is resolved once per run.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::aws::catalog::Catalog;
use crate::aws::cloudformation::CloudFormation;
use crate::aws::config::AwsConfig;
use crate::aws::ec2::Ec2;
use crate::aws::iam::Iam;
use crate::aws::sts::Sts;

/// The run's AWS config and its EC2 adapter, made once.
pub struct Aws {
    config: OnceCell<AwsConfig>,
    ec2: OnceCell<Arc<Ec2>>,
    max_in_flight: usize,
}

impl Aws {
    /// Nothing loaded yet; EC2 will take at most `max_in_flight` requests in flight
    /// (`copy.max-concurrency`).
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            config: OnceCell::new(),
            ec2: OnceCell::new(),
            max_in_flight,
        }
    }

    /// The AWS config, loaded on first use.
    pub async fn config(&self) -> &AwsConfig {
        self.config.get_or_init(AwsConfig::load).await
    }

    /// The EC2 adapter (one client per region, one in-flight bound for the run).
    pub async fn ec2(&self) -> Arc<Ec2> {
        let config = self.config().await;
        self.ec2
            .get_or_init(|| async { Arc::new(Ec2::new(config, self.max_in_flight)) })
            .await
            .clone()
    }

    /// The STS adapter.
    pub async fn sts(&self) -> Sts {
        Sts::new(self.config().await)
    }

    /// The IAM adapter.
    pub async fn iam(&self) -> Iam {
        Iam::new(self.config().await)
    }

    /// The Marketplace Catalog adapter.
    pub async fn catalog(&self) -> Catalog {
        Catalog::new(self.config().await)
    }

    /// The CloudFormation adapter.
    pub async fn cloudformation(&self) -> CloudFormation {
        CloudFormation::new(self.config().await)
    }
}

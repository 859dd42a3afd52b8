//! `sgctl`: the command line of the security-group daemon, shaped like `aws ec2`.

fn main() {
    std::process::exit(sg_userspace::cli::main());
}
